package main

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestTLSDirectives(t *testing.T) {
	for _, tc := range []struct {
		v      string
		lo, hi uint16
		err    string
	}{
		{v: "TLSv1.2 TLSv1.3", lo: tls.VersionTLS12, hi: tls.VersionTLS13},
		{v: "tlsv1.3", lo: tls.VersionTLS13, hi: tls.VersionTLS13},
		{v: "TLSv1 TLSv1.1 TLSv1.2", lo: tls.VersionTLS10, hi: tls.VersionTLS12},
		{v: ""},
		{v: "TLSv1 TLSv1.3", err: "the versions must follow each other"},
		{v: "SSLv3", err: `unknown protocol "SSLv3"`},
	} {
		lo, hi, err := parseProtocols(tc.v)
		if lo != tc.lo || hi != tc.hi || (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("tls-protocols %q: %x-%x, %v", tc.v, lo, hi, err)
		}
	}
	ids, err := parseCiphers("ECDHE-RSA-AES128-GCM-SHA256:TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 ecdhe-ecdsa-chacha20-poly1305")
	if want := []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
		tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256}; err != nil || !slices.Equal(ids, want) {
		t.Errorf("tls-ciphers: %x, %v", ids, err)
	}
	for _, v := range []string{"HIGH:!aNULL", "DEFAULT", "TLS_AES_128_GCM_SHA256", "RC4-SHA"} {
		if _, err := parseCiphers(v); err == nil || !strings.Contains(err.Error(), "OpenSSL's keywords") {
			t.Errorf("tls-ciphers %q: %v", v, err)
		}
	}
	if err := checkCipherSuites("TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384"); err != nil {
		t.Errorf("tls-ciphersuites, all of Go's: %v", err)
	}
	if err := checkCipherSuites("TLS_AES_256_GCM_SHA384"); err == nil || !strings.Contains(err.Error(), "cannot be chosen") {
		t.Errorf("tls-ciphersuites, one: %v", err)
	}

	p := newPKI(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--tls-port", "6380", "--tls-cert-file", p.serverCert}, "tls-cert-file and tls-key-file are needed"},
		{[]string{"--tls-replication", "yes", "--tls-cert-file", p.serverCert, "--tls-key-file", p.serverKey, "--tls-auth-clients", "no"},
			"tls-ca-cert-file or tls-ca-cert-dir is needed"},
		{[]string{"--tls-port", "6380", "--tls-cert-file", p.serverCert, "--tls-key-file", p.serverKey},
			"tls-ca-cert-file or tls-ca-cert-dir is needed"},
		{[]string{"--tls-port", "6379"}, "port and tls-port are both 6379"},
		{[]string{"--tls-auth-clients", "maybe"}, `tls-auth-clients: "maybe" must be one of yes, no, optional`},
		{[]string{"--tls-replication", "sometimes"}, `tls-replication: "sometimes" must be yes or no`},
		{[]string{"--tls-port", "65536"}, `tls-port: invalid value "65536"`},
		{append(p.serverArgs(), "--tls-port", "6380", "--tls-key-file", p.clientKey), "private key does not match public key"},
		{append(p.serverArgs(), "--tls-port", "6380", "--tls-ca-cert-file", p.serverKey), "no PEM certificate in it"},
	} {
		if _, err := parseArgs(tc.args, nil, log); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want an error containing %q", tc.args, err, tc.want)
		}
	}
	if _, err := parseArgs([]string{"--tls-port", "6380", "--tls-cert-file", p.serverCert, "--tls-key-file", p.serverKey,
		"--tls-auth-clients", "no"}, nil, log); err != nil {
		t.Errorf("tls-auth-clients no needs no CA: %v", err)
	}
}

// TestTLSHandshakes: the configs the binary builds talk to each other;
// the replication client verifies the primary's chain but not its name,
// as redis-server does, and the TLS port refuses a client without a
// certificate, or a primary signed by another CA is refused.
func TestTLSHandshakes(t *testing.T) {
	p := newPKI(t)
	opts := defaultTLSOptions()
	opts.port, opts.certFile, opts.keyFile, opts.caFile, opts.replication = 6380, p.serverCert, p.serverKey, p.caCert, true
	srv, err := opts.serverConfig()
	if err != nil {
		t.Fatal(err)
	}
	cli, err := opts.clientConfig()
	if err != nil {
		t.Fatal(err)
	}
	if err := handshake(srv, cli, "some.other.name"); err != nil {
		t.Errorf("replication client to the TLS port: %v", err)
	}
	if err := handshake(srv, p.clientTLS(t, false), "127.0.0.1"); err == nil {
		t.Error("a client without a certificate was accepted")
	}
	untrusting := opts
	untrusting.caFile = p.otherCA
	cli, err = untrusting.clientConfig()
	if err != nil {
		t.Fatal(err)
	}
	if err := handshake(srv, cli, "127.0.0.1"); err == nil || !strings.Contains(err.Error(), "unknown authority") {
		t.Errorf("a primary signed by another CA: %v", err)
	}

	// tls-ca-cert-dir: every PEM file in it, others skipped.
	dir := t.TempDir()
	b, _ := os.ReadFile(p.caCert)
	os.WriteFile(filepath.Join(dir, "a1b2c3d4.0"), b, 0o600)
	os.WriteFile(filepath.Join(dir, "README"), []byte("not a certificate"), 0o600)
	withDir := opts
	withDir.caFile, withDir.caDir = "", dir
	if cli, err = withDir.clientConfig(); err != nil {
		t.Fatal(err)
	}
	if err := handshake(srv, cli, "127.0.0.1"); err != nil {
		t.Errorf("with tls-ca-cert-dir: %v", err)
	}
	withDir.caDir = t.TempDir()
	if _, err := withDir.clientConfig(); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Errorf("empty tls-ca-cert-dir: %v", err)
	}
}

// handshake runs a TLS handshake between srv and cli over a pipe and
// returns the client's error, or the server's.
func handshake(srv, cli *tls.Config, serverName string) error {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	cli = cli.Clone()
	cli.ServerName = serverName
	done := make(chan error, 1)
	go func() {
		s := tls.Server(b, srv)
		err := s.Handshake()
		if err == nil {
			// TLS 1.3 clients learn of a refused certificate on a read.
			_, err = s.Write([]byte("x"))
		}
		done <- err
		b.Close()
	}()
	c := tls.Client(a, cli)
	err := c.Handshake()
	if err == nil {
		_, err = c.Read(make([]byte, 1))
	}
	a.Close()
	if serr := <-done; err == nil {
		err = serr
	}
	return err
}

// TestEncryptedKeys: tls-key-file-pass decrypts a PKCS #8 key (PBES2,
// as openssl pkey -aes256 writes it) and a legacy encrypted PEM key.
func TestEncryptedKeys(t *testing.T) {
	p := newPKI(t)
	keyPEM, _ := os.ReadFile(p.serverKey)
	block, _ := pem.Decode(keyPEM)
	pkcs8 := writePEM(t, p.dir, "pkcs8.key", "ENCRYPTED PRIVATE KEY", encryptPKCS8(t, block.Bytes, "sekrit"))
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, err := x509.MarshalECPrivateKey(key.(*ecdsa.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	legacyBlock, err := x509.EncryptPEMBlock(rand.Reader, "EC PRIVATE KEY", ecDER, []byte("sekrit"), x509.PEMCipherAES256) //nolint:staticcheck // the legacy form, on purpose
	if err != nil {
		t.Fatal(err)
	}
	legacy := filepath.Join(p.dir, "legacy.key")
	os.WriteFile(legacy, pem.EncodeToMemory(legacyBlock), 0o600)
	for _, keyFile := range []string{pkcs8, legacy} {
		if _, err := loadKeyPair("tls-cert-file", p.serverCert, "tls-key-file", keyFile, "sekrit"); err != nil {
			t.Errorf("%s: %v", keyFile, err)
		}
		if _, err := loadKeyPair("tls-cert-file", p.serverCert, "tls-key-file", keyFile, "wrong"); err == nil {
			t.Errorf("%s with a wrong passphrase: no error", keyFile)
		}
		if _, err := loadKeyPair("tls-cert-file", p.serverCert, "tls-key-file", keyFile, ""); err == nil ||
			!strings.Contains(err.Error(), "is encrypted: give its passphrase with tls-key-file-pass") {
			t.Errorf("%s without a passphrase: %v", keyFile, err)
		}
	}
}

// encryptPKCS8 encrypts a PKCS #8 key as OpenSSL does by default: PBES2,
// PBKDF2 with HMAC-SHA256, AES-256-CBC.
func encryptPKCS8(t *testing.T, der []byte, pass string) []byte {
	t.Helper()
	salt, iv := make([]byte, 16), make([]byte, aes.BlockSize)
	rand.Read(salt)
	rand.Read(iv)
	key, err := pbkdf2.Key(sha256.New, pass, salt, 2048, 32)
	if err != nil {
		t.Fatal(err)
	}
	pad := aes.BlockSize - len(der)%aes.BlockSize
	data := append(append([]byte{}, der...), make([]byte, pad)...)
	for i := len(der); i < len(data); i++ {
		data[i] = byte(pad)
	}
	block, _ := aes.NewCipher(key)
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(data, data)
	raw := func(v any) asn1.RawValue {
		b, err := asn1.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return asn1.RawValue{FullBytes: b}
	}
	kdf := pkix.AlgorithmIdentifier{Algorithm: oidPBKDF2, Parameters: raw(pbkdf2Params{Salt: salt, Iter: 2048,
		PRF: pkix.AlgorithmIdentifier{Algorithm: oidHMACSHA256, Parameters: asn1.NullRawValue}})}
	enc := pkix.AlgorithmIdentifier{Algorithm: oidAES256CBC, Parameters: raw(iv)}
	out, err := asn1.Marshal(encryptedPrivateKeyInfo{
		Algo: pkix.AlgorithmIdentifier{Algorithm: oidPBES2, Parameters: raw(pbes2Params{KDF: kdf, Enc: enc})},
		Data: data,
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
