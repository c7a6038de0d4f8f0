//go:build race

package bridge

// raceEnabled is true when the tests run under the race detector, which makes them 5–10× slower: the soak
// test then runs a smaller count (scripts/test runs it in full in a separate step without -race).
const raceEnabled = true
