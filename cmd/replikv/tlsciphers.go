package main

import (
	"crypto/tls"
	"fmt"
	"slices"
	"strings"
)

// openSSLCiphers maps OpenSSL's names of the TLS 1.2 suites Go implements
// (which tls-ciphers takes in redis.conf) to Go's IDs.
var openSSLCiphers = map[string]uint16{
	"ECDHE-ECDSA-AES128-GCM-SHA256": tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	"ECDHE-RSA-AES128-GCM-SHA256":   tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	"ECDHE-ECDSA-AES256-GCM-SHA384": tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	"ECDHE-RSA-AES256-GCM-SHA384":   tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	"ECDHE-ECDSA-CHACHA20-POLY1305": tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	"ECDHE-RSA-CHACHA20-POLY1305":   tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
	"ECDHE-ECDSA-AES128-SHA":        tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
	"ECDHE-RSA-AES128-SHA":          tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
	"ECDHE-ECDSA-AES256-SHA":        tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
	"ECDHE-RSA-AES256-SHA":          tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
	"AES128-GCM-SHA256":             tls.TLS_RSA_WITH_AES_128_GCM_SHA256,
	"AES256-GCM-SHA384":             tls.TLS_RSA_WITH_AES_256_GCM_SHA384,
	"AES128-SHA":                    tls.TLS_RSA_WITH_AES_128_CBC_SHA,
	"AES256-SHA":                    tls.TLS_RSA_WITH_AES_256_CBC_SHA,
}

// parseCiphers parses tls-ciphers: cipher names separated by ':' (or
// spaces or commas), in OpenSSL's spelling or Go's (IANA's). OpenSSL's
// keywords (DEFAULT, HIGH …) and its !, +, - and @ rules select by
// properties Go does not expose: they are refused, as is a name Go does
// not implement. "" means Go's default list.
func parseCiphers(v string) ([]uint16, error) {
	fields := strings.FieldsFunc(v, func(r rune) bool { return r == ':' || r == ' ' || r == ',' })
	var ids []uint16
	for _, f := range fields {
		id, ok := openSSLCiphers[strings.ToUpper(f)]
		if !ok {
			for _, c := range tls.CipherSuites() {
				if strings.EqualFold(c.Name, f) && !slices.Contains(c.SupportedVersions, tls.VersionTLS13) {
					id, ok = c.ID, true
				}
			}
		}
		if !ok {
			return nil, fmt.Errorf("tls-ciphers: %q is not a TLS 1.2 cipher suite replikv has; name each suite, such as "+
				"ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-GCM-SHA256 (OpenSSL's keywords and !, +, - and @ rules are not supported)", f)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// checkCipherSuites checks tls-ciphersuites, the TLS 1.3 suites: Go
// enables all of its own and lets none be chosen, so only a list of all
// of them (or none) asks for what it does.
func checkCipherSuites(v string) error {
	var want []string
	for _, c := range tls.CipherSuites() {
		if slices.Contains(c.SupportedVersions, tls.VersionTLS13) {
			want = append(want, c.Name)
		}
	}
	got := strings.FieldsFunc(strings.ToUpper(v), func(r rune) bool { return r == ':' || r == ' ' || r == ',' })
	slices.Sort(got)
	slices.Sort(want)
	if len(got) == 0 || slices.Equal(got, want) {
		return nil
	}
	return fmt.Errorf("tls-ciphersuites: the TLS 1.3 suites cannot be chosen in replikv, which uses all of %s; "+
		"remove the directive, or limit tls-protocols to TLSv1.2 and choose with tls-ciphers", strings.Join(want, ":"))
}
