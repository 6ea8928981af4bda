import Foundation
import ChannelKit

/// The gateway session as saved in the state store (`<channel>/<account>/gateway-session.json`),
/// so a restarted process can resume it.
struct QQBotSavedSession: Codable, Sendable, Hashable {
    static let stateName = "gateway-session"

    /// The app the session belongs to (a session is never resumed under another appId).
    var appId: String
    /// The REST base it was opened through (a session is never resumed against another
    /// deployment or host).
    var apiBaseURL: String
    /// READY's `session_id`.
    var sessionID: String
    /// The last handled seq.
    var seq: Int
    /// When it was saved (wall time).
    var savedAt: Date
}

extension QQBotConnection {
    var savedSessionKey: StateKey { StateKey(context.account, QQBotSavedSession.stateName) }

    /// Once per connection, before its first socket: adopts a session an earlier process
    /// saved, if it is this app's and recent enough.
    func restoreSavedSession() async {
        let window = configuration.sessionResumeWindow
        let first = state.withLock { s -> Bool in
            defer { s.savedSessionChecked = true }
            return !s.savedSessionChecked
        }
        guard first, window > .zero else { return }
        do {
            guard let saved = try await context.store.load(QQBotSavedSession.self, for: savedSessionKey) else { return }
            let age = context.time.now().timeIntervalSince(saved.savedAt)
            guard saved.appId == settings.appId, saved.apiBaseURL == settings.apiBaseURL.absoluteString,
                  age >= 0, age <= window.seconds else { return }
            state.withLock { $0.machine.restore(.init(id: saved.sessionID, seq: saved.seq)) }
            context.logger.info("resuming the gateway session saved \(Int(age)) s ago", source: "QQBot")
        } catch {
            context.logger.warning("saved gateway session unreadable, identifying afresh: \(Self.describe(error))", source: "QQBot")
        }
    }

    /// Saves the current session (at READY and on shutdown).
    func saveSession() async {
        guard configuration.sessionResumeWindow > .zero,
              let session = state.withLock({ $0.machine.session }) else { return }
        let saved = QQBotSavedSession(appId: settings.appId, apiBaseURL: settings.apiBaseURL.absoluteString,
                                      sessionID: session.id, seq: session.seq, savedAt: context.time.now())
        do {
            try await context.store.save(saved, for: savedSessionKey)
        } catch {
            context.logger.warning("gateway session could not be saved: \(Self.describe(error))", source: "QQBot")
        }
    }

    /// Saves the session so a restarted process can resume it.
    public func shutdown() async {
        await saveSession()
    }
}
