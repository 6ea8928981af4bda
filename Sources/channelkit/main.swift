import ChannelKit
import Foundation

/// `channelkit` — the command-line front end: `demo`, `run`, `check`, `probe`, `version`.
let usage = """
usage: channelkit <command>
  demo   [--duration SECONDS] [--accounts N]   run the built-in simulators with an echo gateway
  run    --config FILE [--echo]                run a gateway; JSON lines on stdout, logs on stderr
  check  --config FILE                         validate a config file (exit 2 when invalid)
  probe  --config FILE                         check each account's token, identity and gateway
  version
"""

let arguments = Array(CommandLine.arguments.dropFirst())
let rest = Array(arguments.dropFirst())
switch arguments.first {
case "demo":
    exit(await DemoCommand.main(rest))
case "run":
    exit(await RunCommand.main(rest))
case "check":
    exit(CheckCommand.main(rest))
case "probe":
    exit(await ProbeCommand.main(rest))
case "version", "--version":
    print("channelkit 0.1.0")
case "help", "--help", "-h":
    print(usage)
case "_store-writer":
    exit(await StoreTortureCommand.storeWriter(rest))
case "_lock-holder":
    exit(await StoreTortureCommand.lockHolder(rest))
default:
    LineWriter.standardError.line(usage)
    exit(64)
}
