extension FileStateStore {
    /// Settings of a ``FileStateStore``.
    public struct Configuration: Sendable {
        /// Permission bits of every document and lock file the store creates.
        /// Default `0o600` (owner read/write only). Loading rejects a document whose
        /// group/other bits exceed these with `.storePermissions`.
        public var fileMode: UInt16
        /// Permission bits of every directory the store creates (existing directories are
        /// left as they are). Default `0o700`.
        public var directoryMode: UInt16
        /// Where the store logs (stale temporary files removed, unreadable documents).
        /// Default ``ChannelLogger/disabled``.
        public var logger: ChannelLogger

        /// Creates a configuration.
        /// - Parameters:
        ///   - fileMode: Permission bits of created files. Defaults to `0o600`.
        ///   - directoryMode: Permission bits of created directories. Defaults to `0o700`.
        ///   - logger: The logger. Defaults to ``ChannelLogger/disabled``.
        public init(fileMode: UInt16 = 0o600, directoryMode: UInt16 = 0o700, logger: ChannelLogger = .disabled) {
            self.fileMode = fileMode
            self.directoryMode = directoryMode
            self.logger = logger
        }
    }
}
