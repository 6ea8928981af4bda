#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Thin wrappers over the POSIX calls the loopback servers use, so the rest of the code
/// reads the same on Glibc and Darwin. Every function returns the raw result and the
/// `errno` captured right after the call.
enum Posix {
    static var pollIn: Int16 { Int16(POLLIN) }
    static var pollOut: Int16 { Int16(POLLOUT) }
    static var pollHangup: Int16 { Int16(POLLERR) | Int16(POLLHUP) | Int16(POLLNVAL) }

    /// A TCP socket, non-blocking and close-on-exec.
    static func tcpSocket() -> (fd: Int32, errno: Int32) {
        #if canImport(Glibc)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        let err = errno
        if fd >= 0 { configure(fd) }
        return (fd, err)
    }

    /// Non-blocking, close-on-exec, no SIGPIPE (Darwin), no Nagle delay.
    static func configure(_ fd: Int32) {
        let flags = fcntl(fd, F_GETFL, 0)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
        let fdFlags = fcntl(fd, F_GETFD, 0)
        _ = fcntl(fd, F_SETFD, fdFlags | FD_CLOEXEC)
        var one: Int32 = 1
        #if canImport(Darwin)
        _ = setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, socklen_t(MemoryLayout<Int32>.size))
        #endif
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    /// `127.0.0.1:port` (port 0 = ephemeral).
    static func loopbackAddress(port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        #if canImport(Darwin)
        address.sin_len = UInt8(MemoryLayout<sockaddr_in>.size)
        #endif
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr = in_addr(s_addr: UInt32(0x7f00_0001).bigEndian)
        return address
    }

    static func bind(_ fd: Int32, port: UInt16) -> (result: Int32, errno: Int32) {
        var address = loopbackAddress(port: port)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                #if canImport(Glibc)
                Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                #elseif canImport(Musl)
                Musl.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                #else
                Darwin.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                #endif
            }
        }
        return (result, errno)
    }

    static func connect(_ fd: Int32, port: UInt16) -> (result: Int32, errno: Int32) {
        var address = loopbackAddress(port: port)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                #if canImport(Glibc)
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                #elseif canImport(Musl)
                Musl.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                #else
                Darwin.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                #endif
            }
        }
        return (result, errno)
    }

    static func listen(_ fd: Int32, backlog: Int32) -> (result: Int32, errno: Int32) {
        #if canImport(Glibc)
        let result = Glibc.listen(fd, backlog)
        #elseif canImport(Musl)
        let result = Musl.listen(fd, backlog)
        #else
        let result = Darwin.listen(fd, backlog)
        #endif
        return (result, errno)
    }

    /// The local port of a bound socket, or `nil`.
    static func localPort(_ fd: Int32) -> UInt16? {
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let result = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return result == 0 ? UInt16(bigEndian: address.sin_port) : nil
    }

    static func accept(_ fd: Int32) -> (fd: Int32, errno: Int32) {
        #if canImport(Glibc)
        let client = Glibc.accept(fd, nil, nil)
        #elseif canImport(Musl)
        let client = Musl.accept(fd, nil, nil)
        #else
        let client = Darwin.accept(fd, nil, nil)
        #endif
        let err = errno
        if client >= 0 { configure(client) }
        return (client, err)
    }

    static func receive(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) -> (count: Int, errno: Int32) {
        let n = recv(fd, buffer.baseAddress, buffer.count, 0)
        return (n, errno)
    }

    static func send(_ fd: Int32, _ buffer: UnsafeRawBufferPointer) -> (count: Int, errno: Int32) {
        #if canImport(Glibc) || canImport(Musl)
        let flags = Int32(MSG_NOSIGNAL)
        #else
        let flags: Int32 = 0
        #endif
        #if canImport(Glibc)
        let n = Glibc.send(fd, buffer.baseAddress, buffer.count, flags)
        #elseif canImport(Musl)
        let n = Musl.send(fd, buffer.baseAddress, buffer.count, flags)
        #else
        let n = Darwin.send(fd, buffer.baseAddress, buffer.count, flags)
        #endif
        return (n, errno)
    }

    /// The pending socket error (`SO_ERROR`), e.g. after a non-blocking connect.
    static func socketError(_ fd: Int32) -> Int32 {
        var value: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        _ = getsockopt(fd, SOL_SOCKET, SO_ERROR, &value, &length)
        return value
    }

    /// Makes the next `close` send RST instead of FIN.
    static func setLingerZero(_ fd: Int32) {
        var value = linger(l_onoff: 1, l_linger: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_LINGER, &value, socklen_t(MemoryLayout<linger>.size))
    }

    static func shutdownWrite(_ fd: Int32) {
        #if canImport(Glibc)
        _ = Glibc.shutdown(fd, Int32(SHUT_WR))
        #elseif canImport(Musl)
        _ = Musl.shutdown(fd, SHUT_WR)
        #else
        _ = Darwin.shutdown(fd, SHUT_WR)
        #endif
    }

    static func close(_ fd: Int32) {
        #if canImport(Glibc)
        _ = Glibc.close(fd)
        #elseif canImport(Musl)
        _ = Musl.close(fd)
        #else
        _ = Darwin.close(fd)
        #endif
    }

    /// A non-blocking, close-on-exec pipe.
    static func pipe() -> (read: Int32, write: Int32)? {
        var fds: [Int32] = [0, 0]
        #if canImport(Glibc)
        let result = Glibc.pipe(&fds)
        #elseif canImport(Musl)
        let result = Musl.pipe(&fds)
        #else
        let result = Darwin.pipe(&fds)
        #endif
        guard result == 0 else { return nil }
        for fd in fds {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL, 0) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, fcntl(fd, F_GETFD, 0) | FD_CLOEXEC)
        }
        return (fds[0], fds[1])
    }

    static func writeByte(_ fd: Int32) {
        var byte: UInt8 = 1
        #if canImport(Glibc)
        _ = Glibc.write(fd, &byte, 1)
        #elseif canImport(Musl)
        _ = Musl.write(fd, &byte, 1)
        #else
        _ = Darwin.write(fd, &byte, 1)
        #endif
    }

    static func drain(_ fd: Int32) {
        var buffer = [UInt8](repeating: 0, count: 256)
        while true {
            #if canImport(Glibc)
            let n = Glibc.read(fd, &buffer, buffer.count)
            #elseif canImport(Musl)
            let n = Musl.read(fd, &buffer, buffer.count)
            #else
            let n = Darwin.read(fd, &buffer, buffer.count)
            #endif
            if n <= 0 { return }
        }
    }

    /// `poll` over `fds`, waiting without limit. Returns the ready count or -1.
    static func poll(_ fds: inout [pollfd]) -> Int32 {
        #if canImport(Glibc)
        return Glibc.poll(&fds, nfds_t(fds.count), -1)
        #elseif canImport(Musl)
        return Musl.poll(&fds, nfds_t(fds.count), -1)
        #else
        return Darwin.poll(&fds, nfds_t(fds.count), -1)
        #endif
    }

    static var wouldBlock: Int32 { EAGAIN }
    static var interrupted: Int32 { EINTR }
    static var inProgress: Int32 { EINPROGRESS }

    /// `strerror` text for an errno.
    static func describe(_ code: Int32) -> String {
        guard let text = strerror(code) else { return "errno \(code)" }
        return String(cString: text) + " (errno \(code))"
    }
}
