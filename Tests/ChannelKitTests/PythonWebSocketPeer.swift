import Foundation
import ChannelKit

/// The independent Python `websockets` server (Peers/ws_peer.py) as a conformance peer.
/// `.ci/run` installs `websockets`; when python3 or the library is missing the peer fails
/// to start and the tests fail — they never skip.
final class PythonWebSocketPeer: Sendable {
    let port: Int
    let caFile: String?
    let tls: Bool
    private let child: ChildProcessBox

    /// One plain and one TLS peer per test process, started on first use.
    static let plain = Task { try await PythonWebSocketPeer.start(tls: false) }
    static let secure = Task { try await PythonWebSocketPeer.start(tls: true) }

    struct StartFailure: Error, CustomStringConvertible {
        let description: String
    }

    private init(port: Int, caFile: String?, tls: Bool, child: ChildProcessBox) {
        self.port = port
        self.caFile = caFile
        self.tls = tls
        self.child = child
    }

    static var scriptPath: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Peers/ws_peer.py").path
    }

    static func start(tls: Bool) async throws -> PythonWebSocketPeer {
        var arguments = ["python3", scriptPath]
        if tls {
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ck-ws-peer-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            arguments += ["--tls", dir.path]
        }
        let child = try ChildProcess(URL(fileURLWithPath: "/usr/bin/env"), arguments)
        guard let portLine = await child.nextLine(), portLine.hasPrefix("port "), let port = Int(portLine.dropFirst(5)) else {
            throw StartFailure(description: "the Python websockets peer did not start (is `pip install websockets` done? .ci/run does it)")
        }
        var caFile: String?
        if tls {
            guard let caLine = await child.nextLine(), caLine.hasPrefix("ca ") else { throw StartFailure(description: "TLS peer printed no CA file") }
            caFile = String(caLine.dropFirst(3))
        }
        return PythonWebSocketPeer(port: port, caFile: caFile, tls: tls, child: ChildProcessBox(child))
    }

    func url(_ path: String) -> URL {
        URL(string: "\(tls ? "wss" : "ws")://127.0.0.1:\(port)\(path)")!
    }
}

/// Keeps the child alive for the process lifetime (stdin stays open).
final class ChildProcessBox: @unchecked Sendable {
    let child: ChildProcess
    init(_ child: ChildProcess) { self.child = child }
}
