// swift-tools-version:6.0
import PackageDescription

/// ChannelKit has no package dependencies: Foundation (and FoundationNetworking on Linux)
/// is the platform.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "ChannelKit",
    platforms: [.macOS(.v15), .iOS(.v18), .tvOS(.v18), .watchOS(.v11), .visionOS(.v2)],
    products: [
        .library(name: "ChannelKit", targets: ["ChannelKit"]),
        .library(name: "ChannelKitQQBot", targets: ["ChannelKitQQBot"]),
        .library(name: "ChannelKitFeishu", targets: ["ChannelKitFeishu"]),
        .library(name: "ChannelKitOpenIM", targets: ["ChannelKitOpenIM"]),
        .library(name: "ChannelKitClawChat", targets: ["ChannelKitClawChat"]),
        .library(name: "ChannelKitTesting", targets: ["ChannelKitTesting"]),
        .executable(name: "channelkit", targets: ["channelkit"]),
        .executable(name: "channelkit-bench", targets: ["channelkit-bench"]),
    ],
    targets: [
        // C shims: libcurl loaded with dlopen (variadic calls wrapped), epoll/eventfd.
        .target(name: "CChannelKitShims", linkerSettings: [.linkedLibrary("dl", .when(platforms: [.linux]))]),
        .target(name: "ChannelKit", dependencies: ["CChannelKitShims"], swiftSettings: swiftSettings),
        .target(name: "ChannelKitQQBot", dependencies: ["ChannelKit"], swiftSettings: swiftSettings),
        .target(name: "ChannelKitFeishu", dependencies: ["ChannelKit"], swiftSettings: swiftSettings),
        .target(name: "ChannelKitOpenIM", dependencies: ["ChannelKit"], swiftSettings: swiftSettings),
        .target(name: "ChannelKitClawChat", dependencies: ["ChannelKit"], swiftSettings: swiftSettings),
        .target(name: "ChannelKitTesting", dependencies: ["ChannelKit"], swiftSettings: swiftSettings),
        .executableTarget(
            name: "channelkit",
            dependencies: ["ChannelKit", "ChannelKitQQBot", "ChannelKitFeishu", "ChannelKitOpenIM", "ChannelKitClawChat", "ChannelKitTesting"],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "channelkit-bench",
            dependencies: ["ChannelKit", "ChannelKitQQBot", "ChannelKitFeishu", "ChannelKitOpenIM", "ChannelKitClawChat", "ChannelKitTesting"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ChannelKitTests",
            dependencies: ["ChannelKit", "ChannelKitQQBot", "ChannelKitFeishu", "ChannelKitOpenIM", "ChannelKitClawChat", "ChannelKitTesting"],
            exclude: ["Peers"],
            swiftSettings: swiftSettings
        ),
    ],
    swiftLanguageModes: [.v6]
)
