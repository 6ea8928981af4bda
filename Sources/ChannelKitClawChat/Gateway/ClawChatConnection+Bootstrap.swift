import Foundation
import ChannelKit

extension ClawChatConnection {
    /// Loads (once) the stored pair and ids and builds the coordinator and REST client.
    ///
    /// - The stored pair wins over the configured one (every refresh rotates both), unless
    ///   the configured pair changed since it seeded the store (a re-activation): then the
    ///   configured pair replaces it and the stored refresh guard is dropped.
    /// - `wsDeviceId`: configured, else stored, else derived from host and account.
    /// - REST `deviceId`: configured, else stored, else the token's `did`, else the
    ///   WebSocket id. Both are persisted.
    /// - Throws: the store's `ChannelError` (`.storeCorrupt`, `.storeIO`, …).
    func bootstrap() async throws -> Bootstrapped {
        if let boot { return boot }
        if let bootTask { return try await bootTask.value }
        let task = Task { try await self.loadBootstrap() }
        bootTask = task
        do {
            let value = try await task.value
            boot = value
            bootTask = nil
            return value
        } catch {
            bootTask = nil
            throw error
        }
    }

    private func loadBootstrap() async throws -> Bootstrapped {
        let store = context.store
        let deviceKey = StateKey(account, ClawChatDeviceRecord.documentName)
        let refreshConfiguration = {
            var c = configuration.refresh
            c.time = context.time
            c.logger = context.logger
            return c
        }()
        let credentialsKey = StateKey(account, refreshConfiguration.documentName)
        let seed = ClawChatDeviceRecord.fingerprint(settings.accessToken, settings.refreshToken)
        let record = try await store.load(ClawChatDeviceRecord.self, for: deviceKey)
        let stored = try await RefreshCoordinator.loadStoredCredentials(account: account, store: store, documentName: refreshConfiguration.documentName)

        let pair: CredentialPair
        var reseeded = false
        if let stored, record?.seedFingerprint == seed {
            pair = stored
        } else {
            let configured = CredentialPair(accessToken: settings.accessToken, refreshToken: settings.refreshToken, activatedAt: context.time.now())
            try await store.withExclusiveAccess(credentialsKey) {
                try await store.save(configured, for: credentialsKey)
            }
            pair = configured
            reseeded = true
            if stored != nil { logger.info("configured tokens changed; they replace the stored pair", source: "ClawChat") }
        }

        let wsDeviceID = settings.wsDeviceID ?? record?.wsDeviceID
            ?? ClawChatDeviceRecord.derivedWSDeviceID(account: account, host: ClawChatDeviceRecord.hostName)
        let did = JWTClaims(token: pair.accessToken.reveal())?.string("did").flatMap { $0.isEmpty ? nil : $0 }
        let restDeviceID = settings.deviceID ?? record?.restDeviceID ?? did ?? wsDeviceID
        let newRecord = ClawChatDeviceRecord(restDeviceID: restDeviceID, wsDeviceID: wsDeviceID, seedFingerprint: seed)
        if newRecord != record { try await store.save(newRecord, for: deviceKey) }

        let refresher = ClawChatTokenRefresher(url: settings.url("/v1/auth/refresh"), deviceID: restDeviceID,
                                               http: context.http, timeout: refreshConfiguration.attemptTimeout)
        let coordinator = RefreshCoordinator(account: account, credentials: pair, store: store,
                                             configuration: refreshConfiguration, refresher: refresher.refresher)
        struct GuardDocument: Codable { var seedFingerprint: String; var state: RefreshGuardState }
        let guardKey = StateKey(account, ClawChatDeviceRecord.guardDocumentName)
        if reseeded {
            try? await store.remove(guardKey)
        } else if let saved = try? await store.load(GuardDocument.self, for: guardKey), saved.seedFingerprint == seed {
            await coordinator.restoreState(saved.state)
        }
        let api = ClawChatAPI(
            settings: settings, account: account, http: context.http, time: context.time, coordinator: coordinator,
            restDeviceID: restDeviceID, requestTimeout: .seconds(30),
            onPermanentFailure: { [weak self] outcome in await self?.markPermanentFailure(outcome) },
            onRotated: { [weak self] in await self?.reconnectIfTokenChanged() })
        if pair.accessToken.isEmpty || pair.refreshToken.isEmpty {
            permanentFailure = Self.reactivationRequired
            logger.error("stored tokens are blank; the account needs re-activation", source: "ClawChat")
        }
        logger.debug("credentials loaded (ws device \(wsDeviceID), rest device \(restDeviceID))", source: "ClawChat")
        return Bootstrapped(coordinator: coordinator, api: api, restDeviceID: restDeviceID, wsDeviceID: wsDeviceID, seedFingerprint: seed)
    }
}
