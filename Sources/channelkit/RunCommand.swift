import ChannelKit
import Foundation

/// `channelkit run --config FILE [--echo]`: runs a gateway on a config file, writing one
/// JSON object per event line on stdout (see ``EventLine``) and logs on stderr. SIGINT or
/// SIGTERM: every account stops (sockets closed, state flushed), exit 0.
enum RunCommand {
    static let usage = "channelkit run --config FILE [--echo] [--log-level LEVEL]"

    static func main(_ arguments: [String]) async -> Int32 {
        let prepared: ConfigLoading.Prepared
        do {
            prepared = try ConfigLoading.prepare(arguments, usage: usage, valued: ["log-level"], flags: ["echo"], issues: .standardError)
        } catch {
            return error.status
        }
        let (options, path, settings, directory) = (prepared.options, prepared.path, prepared.settings, prepared.directory)
        let level = options.values["log-level"].flatMap { name in LogLevel.allCases.first { $0.description == name } } ?? .info

        let signals = SignalWatcher()
        let logger = ChannelLogger(handler: StandardErrorLogHandler(), level: level)
        let stateDirectory = ConfigLoading.stateDirectory(settings, configDirectory: directory)
        let configuration = ChannelGateway.Configuration(
            logger: logger,
            store: FileStateStore(directory: stateDirectory, configuration: .init(logger: logger))
        )
        let gateway = ChannelGateway(adapters: AvailableAdapters.all, configuration: configuration)
        let echo = options.flags.contains("echo")

        let printer = Task {
            await withTaskGroup(of: Void.self) { replies in
                for await event in gateway.events {
                    if let line = EventLine.json(for: event) { LineWriter.standardOutput.line(line) }
                    guard echo, case .message(let message) = event else { continue }
                    replies.addTask {
                        do {
                            try await gateway.reply(to: message, .text("echo: \(message.text)"))
                        } catch {
                            logger.scoped(to: message.account).error("echo reply failed: \(error)")
                        }
                    }
                }
            }
        }
        let report = await gateway.apply(settings)
        logger.info("started \(report.started.count) account(s); state in \(stateDirectory.path)")
        if report.started.isEmpty {
            logger.warning("no enabled accounts in \(path)")
        }

        let signal = await signals.next()
        logger.info("signal \(signal ?? 0): shutting down")
        await gateway.shutdown()
        await printer.value
        return 0
    }
}
