import ChannelKit
import Foundation

/// Writes a refreshed token back where `channelkit run`'s config file takes it from, so a
/// restart connects with it (the `multi-openim-channel` plugin patches its config the
/// same way):
/// - `accounts.<id>.token` in the file: that string is replaced in place (every other
///   byte of the file is kept), atomically, keeping the file's permissions;
/// - `accounts.<id>.tokenFile`: that file is replaced atomically (mode 0600);
/// - `accounts.<id>.tokenEnv`: nothing can be written; the token stays in the state
///   directory, which the adapter reads at start.
///
/// One writer per process serialises the edits (an actor), so two accounts refreshing at
/// once never lose each other's token.
actor ConfigTokenWriter {
    let configPath: String
    let logger: ChannelLogger

    init(configPath: String, logger: ChannelLogger) {
        self.configPath = configPath
        self.logger = logger
    }

    func write(_ token: Secret, for key: AccountKey) {
        let log = logger.scoped(to: key)
        let accountPath = ["channels", key.channel.rawValue, "accounts", key.account.rawValue]
        do {
            let data = try Data(contentsOf: URL(fileURLWithPath: configPath))
            let json = try JSONDecoder().decode(JSONValue.self, from: data)
            let account = json.value(atDotPath: accountPath.joined(separator: "."))
            if account?["token"]?.stringValue != nil {
                let edited = try ConfigFileEditor.replacingString(at: accountPath + ["token"], with: token.reveal(), in: data)
                let mode = ((try? FileManager.default.attributesOfItem(atPath: configPath))?[.posixPermissions] as? NSNumber)?.uint16Value ?? 0o600
                try AtomicFile.write(edited, to: configPath, mode: mode)
                log.info("wrote the refreshed token into \(configPath)")
            } else if let file = account?["tokenFile"]?.stringValue {
                let directory = (configPath as NSString).deletingLastPathComponent
                let path = file.hasPrefix("/") ? file : (directory as NSString).appendingPathComponent(file)
                try AtomicFile.write(Data((token.reveal() + "\n").utf8), to: path, mode: 0o600)
                log.info("wrote the refreshed token into \(path)")
            } else {
                log.info("the token comes from the environment; the refreshed token is kept in the state directory only")
            }
        } catch {
            log.warning("could not write the refreshed token back into \(configPath): \(error); it is kept in the state directory")
        }
    }
}
