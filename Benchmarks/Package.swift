// swift-tools-version:6.0
// Benchmark programs, built in release by `make bench`; each prints its figures and a ratio
// against a peer run in the same invocation.
import PackageDescription

let package = Package(
    name: "mailvox-benchmarks",
    dependencies: [.package(name: "mailvox", path: "..")],
    targets: [
        .executableTarget(
            name: "AudioBench", dependencies: [.product(name: "MailvoxAudio", package: "mailvox")]),
        .executableTarget(
            name: "AlertBench", dependencies: [.product(name: "MailvoxNotify", package: "mailvox")]),
        .executableTarget(
            name: "StoreBench", dependencies: [.product(name: "MailvoxStore", package: "mailvox")]),
        .executableTarget(
            name: "PipelineBench",
            dependencies: [
                .product(name: "MailvoxServer", package: "mailvox"), .product(name: "MailvoxPipeline", package: "mailvox"),
            ]),
    ],
    swiftLanguageModes: [.v6]
)
