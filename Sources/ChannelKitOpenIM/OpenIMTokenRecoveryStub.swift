// TEMPORARY stand-in for the lead's `TokenRecovery/` (API as announced); deleted when
// main's "OpenIM token recovery…" commit is merged.
import Foundation
import ChannelKit

public struct OpenIMTokenRefresh: Sendable, Equatable {
    enum Mode: String, Sendable { case off, hook, http }
    var mode: Mode
    public static let off = OpenIMTokenRefresh(mode: .off)
    public static func parse(_ object: ConfigObject) -> OpenIMTokenRefresh? {
        let mode = object.choice("mode", ["http", "hook", "off"]).flatMap(Mode.init(rawValue:)) ?? .off
        object.rejectUnknownKeys(also: ["http", "manualLoginMarkerPath"])
        return OpenIMTokenRefresh(mode: mode)
    }
}

public enum OpenIMTokenRecoveryTrigger: Sendable, Hashable {
    case expired(code: Int, message: String)
    case invalid(code: Int, message: String)
    case kicked(code: Int, message: String)
    case connectFailed(code: Int, message: String)
    public var reason: String {
        switch self {
        case .expired: "OnUserTokenExpired"
        case .invalid: "OnUserTokenInvalid"
        case .kicked: "OnKickedOffline"
        case .connectFailed(let code, _): "OnConnectFailed errCode=\(code)"
        }
    }
}

public enum OpenIMTokenRecoveryResult: Sendable {
    case recovered(Secret), retryLater(reason: String), manualLoginRequired(reason: String)
}

actor OpenIMTokenRecovery {
    let accountID: String
    let configured: Secret
    let refresh: OpenIMTokenRefresh
    let adapter: OpenIMAdapter.Configuration
    let context: AccountContext
    var replaced: Secret?
    var manual: String?

    init(accountID: String, configuredToken: Secret, refresh: OpenIMTokenRefresh, adapter: OpenIMAdapter.Configuration, context: AccountContext) {
        self.accountID = accountID
        self.configured = configuredToken
        self.refresh = refresh
        self.adapter = adapter
        self.context = context
    }

    func currentToken() async -> OpenIMTokenRecoveryResult {
        if let manual { return .manualLoginRequired(reason: manual) }
        return .recovered(replaced ?? configured)
    }

    func recover(_ trigger: OpenIMTokenRecoveryTrigger) async -> OpenIMTokenRecoveryResult {
        if case .connectFailed = trigger, refresh.mode == .off { return .retryLater(reason: trigger.reason) }
        if refresh.mode == .hook, let hook = adapter.tokenHook, let token = await hook(context.account, trigger.reason), !token.isEmpty {
            replaced = Secret(token)
            if let did = adapter.tokenDidRefresh { await did(context.account, Secret(token)) }
            return .recovered(Secret(token))
        }
        manual = "\(trigger.reason): no token refresh succeeded (tokenRefresh.mode \(refresh.mode.rawValue))"
        return .manualLoginRequired(reason: manual ?? "")
    }
}
