print("channelkit-bench: no benchmarks yet")
