import ChannelKit
import Foundation

/// The `tokenRefresh.http.stateFile`: one JSON object keyed by accountId, each entry an
/// object of fields (`{"primary": {"refresh_token": "…"}}`), shared by every account.
///
/// Reads see a consistent file (writes are atomic replacements). Write-back holds the
/// file's lock (`<stateFile>.lock`) across read–modify–write, so accounts refreshing at
/// once never lose each other's fields, and keeps every other account's entry as it was.
struct OpenIMRefreshStateFile: Sendable {
    let path: String

    /// The entry of `accountID` (empty when the file or the entry does not exist).
    /// - Throws: ``OpenIMTokenRefreshFailure/terminal(_:)`` when the file is not a JSON
    ///   object of objects (reported with the path, never with values).
    func entry(for accountID: String) throws(OpenIMTokenRefreshFailure) -> [String: JSONValue] {
        guard let root = try read() else { return [:] }
        switch root[accountID] {
        case nil, .null?: return [:]
        case .object(let fields)?: return fields
        default: throw .terminal("state file \(path): the entry \"\(accountID)\" is not a JSON object")
        }
    }

    /// Sets `fields` in the entry of `accountID`, keeping everything else.
    func write(_ fields: [String: JSONValue], for accountID: String) async throws(OpenIMTokenRefreshFailure) {
        guard !fields.isEmpty else { return }
        do {
            try await AtomicFile.withLock(path) { () async throws -> Void in
                var root = try self.read() ?? [:]
                var entry = root[accountID]?.objectValue ?? [:]
                for (field, value) in fields { entry[field] = value }
                root[accountID] = .object(entry)
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                let data = try encoder.encode(JSONValue.object(root))
                let directory = (self.path as NSString).deletingLastPathComponent
                if !directory.isEmpty { try AtomicFile.makeDirectories(directory) }
                try AtomicFile.write(data + Data("\n".utf8), to: self.path, mode: 0o600)
            }
        } catch let failure as OpenIMTokenRefreshFailure {
            throw failure
        } catch {
            throw .terminal("cannot write back to state file: \(error)")
        }
    }

    private func read() throws(OpenIMTokenRefreshFailure) -> [String: JSONValue]? {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            if !FileManager.default.fileExists(atPath: path) { return nil }
            throw .terminal("cannot read state file \(path): \((error as NSError).localizedDescription)")
        }
        guard let value = try? JSONDecoder().decode(JSONValue.self, from: data) else {
            throw .terminal("state file \(path) is not valid JSON")
        }
        guard case .object(let root) = value else {
            throw .terminal("state file \(path) must be a JSON object keyed by accountId")
        }
        return root
    }
}
