import Foundation
import ChannelKit

extension OpenIMConnection {
    // MARK: Persistence

    func loadSeqs() async throws {
        guard !seqsLoaded else { return }
        if let stored = try await context.store.load(OpenIMSeqDocument.self, for: StateKey(account, OpenIMSeqDocument.documentName)) {
            seqs = stored
        }
        seqsLoaded = true
    }

    func saveSeqs() async {
        guard seqsDirty, seqsLoaded else { return }
        seqsDirty = false
        do {
            try await context.store.save(seqs, for: StateKey(account, OpenIMSeqDocument.documentName))
        } catch {
            seqsDirty = true
            logger.warning("could not store the synced seqs: \(error)", source: "OpenIM")
        }
    }

    // MARK: Seq bookkeeping

    /// Whether `conversationID` holds chat messages (not the `n_`/`sn_` notification ones).
    static func isChatConversation(_ conversationID: String) -> Bool {
        !(conversationID.hasPrefix("n_") || conversationID.hasPrefix("sn_"))
    }

    /// Records a handled seq; returns whether the conversation now has a gap.
    @discardableResult
    func noteSeq(_ seq: Int64, in conversationID: String) -> Bool {
        guard seq > 0 else { return false }
        guard seqs.baselined else {
            seqsAbove[conversationID, default: []].insert(seq)
            return false
        }
        let synced = seqs.synced[conversationID] ?? 0
        if seq <= synced { return false }
        seqsAbove[conversationID, default: []].insert(seq)
        advance(conversationID)
        return !(seqsAbove[conversationID]?.isEmpty ?? true)
    }

    /// Moves the synced seq over every contiguous seq already seen.
    func advance(_ conversationID: String) {
        var synced = seqs.synced[conversationID] ?? 0
        var above = seqsAbove[conversationID] ?? []
        above = above.filter { $0 > synced }
        let before = synced
        while above.remove(synced + 1) != nil { synced += 1 }
        seqsAbove[conversationID] = above.isEmpty ? nil : above
        if synced != before || seqs.synced[conversationID] == nil {
            seqs.synced[conversationID] = synced
            seqsDirty = true
        }
    }

    /// A pulled range is handled, whatever it returned (deleted seqs stay handled).
    func markHandled(_ range: OpenIMSeqRange) {
        let synced = seqs.synced[range.conversationID] ?? 0
        if range.begin <= synced + 1 {
            if range.end > synced { seqs.synced[range.conversationID] = range.end; seqsDirty = true }
            advance(range.conversationID)
        } else {
            for seq in range.begin...range.end { seqsAbove[range.conversationID, default: []].insert(seq) }
        }
    }

    /// `[from, to]` split into ranges of at most ``OpenIMAdapter/Configuration/pullBatchSize``.
    func ranges(_ conversationID: String, from: Int64, to: Int64) -> [OpenIMSeqRange] {
        guard from <= to else { return [] }
        var out: [OpenIMSeqRange] = []
        var begin = from
        let batch = Int64(configuration.pullBatchSize)
        while begin <= to {
            let end = min(to, begin + batch - 1)
            out.append(OpenIMSeqRange(conversationID: conversationID, begin: begin, end: end, num: end - begin + 1))
            begin = end + 1
        }
        return out
    }

    // MARK: Pushes

    /// A 2001 push: every message is handled in seq order; a seq that skips ahead
    /// triggers a pull of the gap.
    func handlePush(_ envelope: OpenIMResponseEnvelope, generation gen: Int) async {
        let push: OpenIMPushMessages
        do {
            push = try OpenIMPushMessages(serialized: envelope.data)
        } catch {
            await report(ChannelError(.malformedInput, "OpenIM push: \(error.message)", account: account,
                                      location: "$.data protobuf byte \(error.offset)\(error.field.map { " (field \($0))" } ?? "")"))
            return
        }
        var gap = false
        for conversationID in push.msgs.keys.sorted() where Self.isChatConversation(conversationID) {
            let msgs = (push.msgs[conversationID]?.msgs ?? []).sorted { $0.seq < $1.seq }
            for msg in msgs {
                await handle(msg, conversationID: conversationID)
                if noteSeq(msg.seq, in: conversationID) { gap = true }
            }
        }
        if gap {
            logger.debug("push skipped seqs; pulling the gap", source: "OpenIM")
            syncSignal?.yield()
        }
        await saveSeqs()
    }

    /// Delivers, skips or reports one message.
    func handle(_ msg: OpenIMMsgData, conversationID: String) async {
        switch OpenIMInbound.build(msg, conversationID: conversationID, account: account, rules: rules) {
        case .message(let message):
            let fresh = await context.events.deliver(message)
            if !fresh { logger.debug("message \(message.origin.messageID) was a duplicate", source: "OpenIM") }
        case .skipped(let reason):
            logger.trace("skipped \(OpenIMInbound.messageID(msg, conversationID: conversationID)): \(reason)", source: "OpenIM")
        case .invalid(let error):
            await report(error)
        }
    }

    // MARK: Sync

    /// Runs a sync pass per signal (coalesced): 1001 + pulls after a connect, gap pulls
    /// after pushes. Errors end the pass; the next signal or reconnect retries.
    func syncLoop(_ signals: AsyncStream<Void>, generation gen: Int) async {
        for await _ in signals {
            guard let current = session, current.generation == gen, current.ready else { continue }
            let full = needsFullSync
            do {
                if full {
                    needsFullSync = false
                    try await fullSync(generation: gen)
                }
                try await pullGaps(generation: gen)
            } catch is CancellationError {
                return
            } catch {
                logger.warning("seq sync failed: \(Redactor.redact("\(error)")); retrying in \(configuration.requestTimeout)", source: "OpenIM")
                if let e = error as? ChannelError, e.code == .connectionClosed { return }
                if session?.generation == gen, let e = error as? ChannelError {
                    await context.events.error(e)
                }
                // Retry the pass (a lost reply must not leave a gap until the next push).
                if full { needsFullSync = true }
                await saveSeqs()
                do { try await context.time.sleep(for: configuration.requestTimeout) } catch { return }
                syncSignal?.yield()
                continue
            }
            await saveSeqs()
        }
    }

    /// 1001 for every conversation's max seq, then pulls from the synced seqs.
    func fullSync(generation gen: Int) async throws {
        let reply = try await request(OpenIMReqIdentifier.getNewestSeq, OpenIMGetMaxSeqReq(userID: settings.userID).serialized)
        let maxSeqs: OpenIMGetMaxSeqResp
        do { maxSeqs = try OpenIMGetMaxSeqResp(serialized: reply.data) } catch {
            throw ChannelError(.malformedInput, "OpenIM GetMaxSeqResp: \(error.message)", account: account, location: "$.data protobuf byte \(error.offset)")
        }
        var wanted: [OpenIMSeqRange] = []
        if !seqs.baselined {
            for (conversationID, max) in maxSeqs.maxSeqs where Self.isChatConversation(conversationID) {
                seqs.synced[conversationID] = max
            }
            seqs.baselined = true
            seqsDirty = true
            for conversationID in Array(seqsAbove.keys) { advance(conversationID) }
            logger.info("first sync: starting from the server's max seqs (\(maxSeqs.maxSeqs.count) conversations)", source: "OpenIM")
            return
        }
        for conversationID in maxSeqs.maxSeqs.keys.sorted() where Self.isChatConversation(conversationID) {
            let max = maxSeqs.maxSeqs[conversationID] ?? 0
            var synced = seqs.synced[conversationID] ?? 0
            if let min = maxSeqs.minSeqs[conversationID], min > synced + 1 {
                synced = min - 1
                seqs.synced[conversationID] = synced
                seqsDirty = true
            }
            wanted.append(contentsOf: ranges(conversationID, from: synced + 1, to: max))
        }
        try await pull(wanted, generation: gen)
    }

    /// Pulls the gaps pushes revealed.
    func pullGaps(generation gen: Int) async throws {
        guard seqs.baselined else { return }
        var wanted: [OpenIMSeqRange] = []
        for (conversationID, above) in seqsAbove.sorted(by: { $0.key < $1.key }) {
            guard let top = above.max() else { continue }
            let synced = seqs.synced[conversationID] ?? 0
            wanted.append(contentsOf: ranges(conversationID, from: synced + 1, to: top - 1))
        }
        try await pull(wanted, generation: gen)
    }

    /// 1002 for `wanted`, ``OpenIMAdapter/Configuration/maximumRangesPerPull`` ranges per
    /// request; messages are handled in seq order, then each range counts as handled.
    func pull(_ wanted: [OpenIMSeqRange], generation gen: Int) async throws {
        guard !wanted.isEmpty else { return }
        var index = 0
        while index < wanted.count {
            let batch = Array(wanted[index..<min(wanted.count, index + configuration.maximumRangesPerPull)])
            index += batch.count
            let reply = try await request(OpenIMReqIdentifier.pullMsgBySeqList,
                                          OpenIMPullMessageBySeqsReq(userID: settings.userID, seqRanges: batch).serialized)
            guard reply.errCode == 0 else {
                throw ChannelError(.platform, "OpenIM pull failed with errCode \(reply.errCode)", account: account,
                                   platformCode: reply.errCode, platformMessage: Redactor.redact(reply.errMsg))
            }
            let pulled: OpenIMPullMessageBySeqsResp
            do { pulled = try OpenIMPullMessageBySeqsResp(serialized: reply.data) } catch {
                throw ChannelError(.malformedInput, "OpenIM PullMessageBySeqsResp: \(error.message)", account: account, location: "$.data protobuf byte \(error.offset)")
            }
            logger.debug("pulled \(pulled.msgs.values.reduce(0) { $0 + $1.msgs.count }) message(s) for \(batch.count) range(s)", source: "OpenIM")
            for conversationID in pulled.msgs.keys.sorted() where Self.isChatConversation(conversationID) {
                for msg in (pulled.msgs[conversationID]?.msgs ?? []).sorted(by: { $0.seq < $1.seq }) {
                    await handle(msg, conversationID: conversationID)
                    noteSeq(msg.seq, in: conversationID)
                }
            }
            for range in batch { markHandled(range) }
            await saveSeqs()
        }
    }

    // MARK: Requests

    /// Sends a request and waits for the reply with its `msgIncr`.
    /// - Throws: ``ChannelError`` `.connectionClosed` without a ready session (or when it
    ///   ends first), `.invalidState` for a frame over the size limit, `.timeout`.
    func request(_ reqIdentifier: Int, _ data: [UInt8]) async throws -> OpenIMResponseEnvelope {
        guard let current = session, current.ready else {
            throw ChannelError(.connectionClosed, "the OpenIM msg gateway is not connected", account: account)
        }
        requestCounter += 1
        let msgIncr = "\(settings.userID)_\(current.generation)_\(requestCounter)"
        var frame = OpenIMEnvelopeCodec.encodeRequest(reqIdentifier: reqIdentifier, sendID: settings.userID,
                                                      operationID: "ck-\(requestCounter)", msgIncr: msgIncr, data: data)
        if configuration.gzip { frame = OpenIMGzip.compress(frame) }
        guard frame.count <= configuration.maximumFrameSize else {
            throw ChannelError(.invalidState, "request \(reqIdentifier) of \(frame.count) bytes exceeds the msg gateway's \(configuration.maximumFrameSize)-byte frame limit",
                               account: account, platformMessage: "frame_too_large")
        }
        let waiter = Reply()
        pending[msgIncr] = waiter
        do {
            try await current.socket.send(.binary(Data(frame)))
        } catch {
            pending[msgIncr] = nil
            throw ChannelError(.connectionClosed, "could not send request \(reqIdentifier): \(Redactor.redact("\(error)"))", account: account)
        }
        let outcome = await waiter.wait(timeout: configuration.requestTimeout, time: context.time)
        pending[msgIncr] = nil
        switch outcome {
        case .value(let result): return try result.get()
        case .cancelled: throw CancellationError()
        case .timedOut:
            throw ChannelError(.timeout, "no reply to request \(reqIdentifier) within \(configuration.requestTimeout)", account: account)
        }
    }
}
