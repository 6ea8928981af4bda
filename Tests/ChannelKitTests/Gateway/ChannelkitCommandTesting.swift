import Foundation

/// What the black-box tests of the `channelkit` executable share: writing a config file,
/// running a command to its end, and polling for something another process does.
protocol ChannelkitCommandTesting {}

extension ChannelkitCommandTesting {
    /// Writes `json` as `directory/name`; returns its path.
    func write(_ json: String, in directory: URL, name: String = "gateway.json") throws -> String {
        let url = directory.appendingPathComponent(name)
        try Data(json.utf8).write(to: url)
        return url.path
    }

    /// Runs a command to completion (with `environment` added for the child only);
    /// returns (exit status, stdout lines).
    func runToEnd(_ arguments: [String], environment: [String: String] = [:]) async throws -> (Int32?, [String]) {
        let child = try ChildProcess(try StoreTestSupport.channelkitExecutable(), arguments, environment: environment)
        var lines: [String] = []
        while let line = await child.nextLine() { lines.append(line) }
        return (await child.waitForExit(), lines)
    }

    /// Polls a condition that depends on another process. Real time is unavoidable here
    /// (the child runs on the system clock); bounded by `seconds`.
    func pollUntil(seconds: Int = 30, _ condition: () -> Bool) async -> Bool {
        for _ in 0..<(seconds * 100) {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return condition()
    }
}
