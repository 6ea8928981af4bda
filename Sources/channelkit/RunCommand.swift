import ChannelKit
import Foundation

/// `channelkit run --config FILE [--echo]`: runs a gateway on a config file, writing one
/// JSON object per event line on stdout (see ``EventLine``) and logs on stderr.
///
/// - SIGHUP: reads the file again and applies it without a restart (added accounts start,
///   removed or disabled ones stop, changed ones restart, untouched ones keep their
///   socket). An invalid file is reported on stderr and the running configuration stays.
/// - SIGINT or SIGTERM: every account stops (sockets closed, state flushed), exit 0.
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

        let signals = SignalWatcher([SIGINT, SIGTERM, SIGHUP])
        let logger = ChannelLogger(handler: StandardErrorLogHandler(), level: level)
        let stateDirectory = ConfigLoading.stateDirectory(settings, configDirectory: directory)
        let configuration = ChannelGateway.Configuration(
            logger: logger,
            store: FileStateStore(directory: stateDirectory, configuration: .init(logger: logger))
        )
        let tokenWriter = ConfigTokenWriter(configPath: path, logger: logger)
        let gateway = ChannelGateway(adapters: AvailableAdapters.all(tokenDidRefresh: { await tokenWriter.write($1, for: $0) }), configuration: configuration)
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

        for await signal in signals.signals {
            guard signal == SIGHUP else {
                logger.info("signal \(signal): shutting down")
                break
            }
            await reload(path, into: gateway, stateDirectory: stateDirectory, logger: logger)
        }
        await gateway.shutdown()
        await printer.value
        return 0
    }

    /// SIGHUP: re-reads `path` and applies it; keeps the running configuration when the
    /// file is unreadable or invalid.
    private static func reload(_ path: String, into gateway: ChannelGateway, stateDirectory: URL, logger: ChannelLogger) async {
        switch ConfigLoading.load(path) {
        case .success(let loaded):
            let wanted = ConfigLoading.stateDirectory(loaded.settings, configDirectory: loaded.directory)
            if wanted.standardizedFileURL != stateDirectory.standardizedFileURL {
                logger.warning("state.directory changed to \(wanted.path); it takes effect at the next start (still using \(stateDirectory.path))")
            }
            let report = await gateway.apply(loaded.settings)
            logger.info("reloaded \(path): started \(report.started.count), restarted \(report.restarted.count), stopped \(report.stopped.count), unchanged \(report.unchanged.count)")
        case .failure(.unreadable(let message)):
            logger.error("reload failed, keeping the running configuration: \(message)")
        case .failure(.invalid(let error)):
            // Config issues never hold secret values (ConfigObject never echoes them), so
            // they are printed as they are, like at start-up, not through the redacting logger.
            logger.error("reload failed, keeping the running configuration")
            ConfigLoading.printIssues(error, to: .standardError)
        }
    }
}
