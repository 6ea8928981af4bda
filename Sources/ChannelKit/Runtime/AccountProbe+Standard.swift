extension AccountProbe {
    /// The usual three checks of an account, in order: the token (nothing else is tried
    /// when it fails), the identity, and the platform's gateway. Each failure is recorded
    /// as `"<label>: <redacted error>"`.
    /// - Parameters:
    ///   - token: fetches (or validates) the account's token.
    ///   - identity: finds the account's own identity.
    ///   - gatewayLabel: how problems with `gateway` are labelled (default `gateway`).
    ///   - gateway: reaches the gateway without opening a session (QQ `GET /gateway`,
    ///     Feishu endpoint discovery).
    public static func standard(
        token: () async throws -> Void,
        identity: () async throws -> AccountIdentity?,
        gatewayLabel: String = "gateway",
        gateway: () async throws -> Void
    ) async -> AccountProbe {
        var probe = AccountProbe()
        do {
            try await token()
            probe.tokenOK = true
        } catch {
            probe.tokenOK = false
            probe.problems.append("token: \(ChannelError.describe(error))")
            return probe
        }
        do {
            probe.identity = try await identity()
        } catch {
            probe.problems.append("identity: \(ChannelError.describe(error))")
        }
        do {
            try await gateway()
            probe.gatewayReachable = true
        } catch {
            probe.gatewayReachable = false
            probe.problems.append("\(gatewayLabel): \(ChannelError.describe(error))")
        }
        return probe
    }
}
