import Foundation
import ChannelKit

/// `channelkit` — the command-line front end. Subcommands grow with the gateway issue.
let arguments = Array(CommandLine.arguments.dropFirst())
switch arguments.first {
case "version", "--version":
    print("channelkit 0.1.0")
case "_store-writer":
    exit(await StoreTortureCommand.storeWriter(Array(arguments.dropFirst())))
case "_lock-holder":
    exit(await StoreTortureCommand.lockHolder(Array(arguments.dropFirst())))
default:
    FileHandle.standardError.write(Data("usage: channelkit <version>\n".utf8))
    exit(arguments.isEmpty ? 0 : 64)
}
