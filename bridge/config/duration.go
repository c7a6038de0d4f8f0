package config

import (
	"errors"
	"time"

	"gopkg.in/yaml.v3"
)

// Duration is a time.Duration written in YAML as a Go duration string ("90s", "5m", "720h").
// A bare number is refused rather than guessed at.
type Duration time.Duration

// errDuration is the message for any malformed duration; it never echoes the value.
var errDuration = errors.New("want a duration such as 90s, 5m or 720h")

// UnmarshalYAML reads a duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		return errDuration
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return errDuration
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes the duration back as a string.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// Std returns d as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// String formats d like time.Duration does.
func (d Duration) String() string { return time.Duration(d).String() }
