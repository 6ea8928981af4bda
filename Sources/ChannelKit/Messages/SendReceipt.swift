/// What the platform answered for one sent chunk.
public struct SentMessage: Sendable, Hashable {
    /// The platform's id for the sent message, when it returned one.
    public var messageID: String?

    /// Creates a record.
    public init(messageID: String?) {
        self.messageID = messageID
    }
}

/// What a gateway send produced: one ``SentMessage`` per chunk, in order.
public struct SendReceipt: Sendable, Hashable {
    /// The account that sent it.
    public var account: AccountKey
    /// The destination.
    public var target: DeliveryTarget
    /// One entry per chunk.
    public var parts: [SentMessage]

    /// Creates a receipt.
    public init(account: AccountKey, target: DeliveryTarget, parts: [SentMessage]) {
        self.account = account
        self.target = target
        self.parts = parts
    }
}
