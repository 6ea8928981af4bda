/// QQ gateway opcodes (frame field `op`).
public enum QQBotOpcode {
    /// Server → client event with `t` and `s`.
    public static let dispatch = 0
    /// Heartbeat, both directions; `d` is the last seq or `null`.
    public static let heartbeat = 1
    /// Client → server authentication.
    public static let identify = 2
    /// Client → server session resume.
    public static let resume = 6
    /// Server asks the client to reconnect (and resume).
    public static let reconnect = 7
    /// Identify or resume failed; `d` says whether resuming is possible.
    public static let invalidSession = 9
    /// First server frame, carries `heartbeat_interval` (ms).
    public static let hello = 10
    /// Server acknowledges a heartbeat.
    public static let heartbeatAck = 11
}
