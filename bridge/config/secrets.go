package config

import (
	"encoding/base64"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
)

// resolvePaths makes every relative file path absolute against ParseOptions.Dir, so that later readers
// (mapping's accounts_file, the TLS listener, the API key store) need not know where the config was.
func (p *parser) resolvePaths(c *Config) {
	p.resolve(&c.Server.TLS.CertFile, &c.Server.TLS.KeyFile, &c.Session.KeysFile, &c.API.KeysFile,
		&c.Store.Path, &c.Store.DSNFile, &c.Store.EncryptionKeysFile, &c.Admin.KeysFile)
	p.resolveCompany(c.company())
}

// resolveCompany resolves the company's files: *_file secrets and accounts tables.
func (p *parser) resolveCompany(co company) {
	for _, s := range co.secrets() {
		p.resolve(s.file) // mapping.accounts_file among them: it follows the secrets' convention
	}
}

// resolve makes each relative path absolute against ParseOptions.Dir.
func (p *parser) resolve(paths ...*string) {
	for _, path := range paths {
		if *path != "" && !filepath.IsAbs(*path) && p.opts.Dir != "" {
			*path = filepath.Join(p.opts.Dir, *path)
		}
	}
}

// readSecrets fills every secret given in its *_file form and decodes the session keys.
func (p *parser) readSecrets(c *Config) {
	for _, s := range c.company().secrets() {
		p.secret(s.value, *s.file, s.path)
	}
	p.sessionKeys(&c.Session)
	p.secret(&c.Store.DSN, c.Store.DSNFile, "store.dsn")
}

// secret reads file into *value when file is set; valuePath names the value's key, valuePath+"_file" the file's.
func (p *parser) secret(value *string, file, valuePath string) {
	if file == "" {
		return
	}
	filePath := valuePath + "_file"
	if *value != "" {
		p.addf(filePath, "set %s or %s, not both", lastKey(valuePath), lastKey(filePath))
		return
	}
	s, ok := p.readFile(filePath, file)
	if !ok {
		return
	}
	if s == "" {
		p.addf(filePath, "file %s is empty", file)
		return
	}
	*value = s
}

// readFile reads a file named at key path, trimmed; a failure is a problem naming the path only.
func (p *parser) readFile(path, file string) (string, bool) {
	data, err := p.opts.ReadFile(file)
	if err != nil {
		p.addf(path, "cannot read file: %v", err)
		return "", false
	}
	return strings.TrimSpace(string(data)), true
}

// lastKey is the final segment of a key path.
func lastKey(path string) string { return path[strings.LastIndexByte(path, '.')+1:] }

// sessionKeys decodes session.keys or session.keys_file into KeyPairs.
func (p *parser) sessionKeys(s *Session) {
	if s.KeysFile != "" {
		if len(s.Keys) > 0 {
			p.addf("session.keys_file", "set keys or keys_file, not both")
			return
		}
		text, ok := p.readFile("session.keys_file", s.KeysFile)
		if !ok {
			return
		}
		bad := 0
		for i, line := range strings.Split(text, "\n") {
			if line, _, _ = strings.Cut(line, "#"); strings.TrimSpace(line) == "" {
				continue
			}
			kp, err := decodeKeyPair(line)
			if err != nil {
				p.addf("session.keys_file", "line %d of %s: %v", i+1, s.KeysFile, err)
				bad++
				continue
			}
			s.KeyPairs = append(s.KeyPairs, kp)
		}
		if len(s.KeyPairs) == 0 && bad == 0 {
			p.addf("session.keys_file", "%s holds no key pair", s.KeysFile)
		}
		return
	}
	for i, k := range s.Keys {
		kp, err := decodeKeyPair(k)
		if err != nil {
			p.addf(indexPath("session.keys", i), "%v", err)
			continue
		}
		s.KeyPairs = append(s.KeyPairs, kp)
	}
}

// sessionKeyLen is the length of each session key: HMAC-SHA256 for the hash key, AES-256 for the block key.
const sessionKeyLen = 32

// decodeKeyPair decodes "<base64 hash key>:<base64 block key>". Errors never echo the key.
func decodeKeyPair(s string) (KeyPair, error) {
	h, b, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok {
		return KeyPair{}, fmt.Errorf(`want "<base64 hash key>:<base64 block key>", two base64 keys of %d bytes joined by ":" (e.g. from: openssl rand -base64 32)`, sessionKeyLen)
	}
	hash, err := decodeKey("hash key", h)
	if err != nil {
		return KeyPair{}, err
	}
	block, err := decodeKey("block key", b)
	if err != nil {
		return KeyPair{}, err
	}
	return KeyPair{Hash: hash, Block: block}, nil
}

// keyEncodings are the base64 alphabets accepted for session keys: standard or URL-safe, padded or not.
var keyEncodings = []*base64.Encoding{
	base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding,
}

// decodeKey decodes one base64 session key and checks its length.
func decodeKey(what, s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range keyEncodings {
		if k, err := enc.DecodeString(s); err == nil {
			if len(k) != sessionKeyLen {
				return nil, fmt.Errorf("the %s decodes to %d bytes, want %d", what, len(k), sessionKeyLen)
			}
			return k, nil
		}
	}
	return nil, fmt.Errorf("the %s is not valid base64 (standard or URL-safe, padded or not)", what)
}

// secretField is one secret of a configuration: a string key K with a sibling string key K_file.
type secretField struct {
	path  string // the value's key path, e.g. providers[0].client_secret
	value *string
	file  *string
}

// secrets finds every secret of the company's sections by the convention each section and provider type
// follows — a string key K with a sibling string key K_file (client_secret / client_secret_file, private_key /
// private_key_file, a WeCom secret / secret_file) — so that a new type's secrets need no list here.
func (co company) secrets() []secretField {
	out := secretFields(reflect.ValueOf(co.fuyun).Elem(), "fuyun")
	for i := range co.providers {
		out = append(out, secretFields(reflect.ValueOf(&co.providers[i]).Elem(), indexPath("providers", i))...)
	}
	return out
}

// secretFields walks struct v (addressable) for K / K_file pairs, into nested sections and lists; a Provider's
// preset configuration is walked at the entry's own path, where its keys are written.
func secretFields(v reflect.Value, path string) []secretField {
	var out []secretField
	fields := yamlFields(v.Type())
	for _, key := range sortedKeys(v.Type()) {
		f := v.FieldByIndex(fields[key])
		if fileIdx, ok := fields[key+"_file"]; ok && f.Kind() == reflect.String {
			if file := v.FieldByIndex(fileIdx); file.Kind() == reflect.String {
				out = append(out, secretField{path: childPath(path, key), value: f.Addr().Interface().(*string),
					file: file.Addr().Interface().(*string)})
			}
			continue
		}
		switch {
		case f.Kind() == reflect.Struct:
			out = append(out, secretFields(f, childPath(path, key))...)
		case f.Kind() == reflect.Slice && f.Type().Elem().Kind() == reflect.Struct:
			for i := range f.Len() {
				out = append(out, secretFields(f.Index(i), indexPath(childPath(path, key), i))...)
			}
		}
	}
	if pr, ok := v.Addr().Interface().(*Provider); ok && pr.Preset != nil {
		out = append(out, secretFields(reflect.ValueOf(pr.Preset).Elem(), path)...)
	}
	return out
}
