package bridge

// RaceEnabled tells the external tests whether the race detector is on (see race_on_test.go).
const RaceEnabled = raceEnabled
