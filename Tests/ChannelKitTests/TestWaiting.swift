import Testing

// One pair of waiting helpers for every suite: conditions are polled in scheduling turns,
// never with real sleeps. (Loopback I/O lands between turns; virtual time moves only
// through `TestClock.advance`.)

/// Waits in scheduling turns (never real sleeps) for `condition`; records an issue if it
/// never holds.
@discardableResult
func eventually(_ what: String = "condition", turns: Int = 3_000_000, sourceLocation: SourceLocation = #_sourceLocation,
                _ condition: () -> Bool) async -> Bool {
    for turn in 0..<turns {
        // Cheap conditions every turn at first, then every 64th (some read whole logs).
        if (turn < 2_000 || turn % 64 == 0), condition() { return true }
        await Task.yield()
    }
    if condition() { return true }
    Issue.record("timed out waiting for \(what)", sourceLocation: sourceLocation)
    return false
}

/// Polls an async condition (e.g. an actor's status), yielding between checks.
func eventually(maxTurns: Int = 200_000, _ condition: () async -> Bool) async -> Bool {
    for _ in 0..<maxTurns {
        if await condition() { return true }
        await Task.yield()
    }
    return await condition()
}
