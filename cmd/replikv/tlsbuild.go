package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// serverConfig returns the tls.Config of the TLS port: the server's
// certificate, and the client certificates tls-auth-clients asks for,
// verified against the CA certificates.
func (t *tlsOptions) serverConfig() (*tls.Config, error) {
	cert, err := loadKeyPair("tls-cert-file", t.certFile, "tls-key-file", t.keyFile, t.keyPass)
	if err != nil {
		return nil, err
	}
	cfg := t.common()
	cfg.Certificates = []tls.Certificate{cert}
	cfg.ClientAuth = t.authClients
	if t.authClients != tls.NoClientCert {
		if cfg.ClientCAs, err = loadCAs(t.caFile, t.caDir); err != nil {
			return nil, err
		}
	}
	return cfg, nil
}

// clientConfig returns the tls.Config of the link to the primary: the
// client certificate (tls-client-cert-file, else tls-cert-file), and the
// primary's certificate verified against the CA certificates. As in
// redis-server, the certificate must chain to a CA but need not name the
// host dialed.
func (t *tlsOptions) clientConfig() (*tls.Config, error) {
	certName, cert, keyName, key, pass := "tls-cert-file", t.certFile, "tls-key-file", t.keyFile, t.keyPass
	if t.clientCertFile != "" {
		certName, cert, keyName, key, pass = "tls-client-cert-file", t.clientCertFile, "tls-client-key-file", t.clientKeyFile, t.clientPass
	}
	pair, err := loadKeyPair(certName, cert, keyName, key, pass)
	if err != nil {
		return nil, err
	}
	roots, err := loadCAs(t.caFile, t.caDir)
	if err != nil {
		return nil, err
	}
	cfg := t.common()
	cfg.Certificates = []tls.Certificate{pair}
	// The chain is verified below, without the host name.
	cfg.InsecureSkipVerify = true
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return errors.New("the primary sent no certificate")
		}
		inter := x509.NewCertPool()
		for _, c := range cs.PeerCertificates[1:] {
			inter.AddCert(c)
		}
		_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
		return err
	}
	return cfg, nil
}

// common returns the settings both ends share: versions and ciphers.
func (t *tlsOptions) common() *tls.Config {
	return &tls.Config{MinVersion: t.minVersion, MaxVersion: t.maxVersion, CipherSuites: t.ciphers}
}

// loadKeyPair loads a PEM certificate and its private key, decrypted
// with pass when it is encrypted; the names are the directives', for
// messages.
func loadKeyPair(certName, certFile, keyName, keyFile, pass string) (tls.Certificate, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("%s: %w", certName, err)
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("%s: %w", keyName, err)
	}
	if keyPEM, err = decryptKey(keyPEM, pass); errors.Is(err, errNoPassphrase) {
		return tls.Certificate{}, fmt.Errorf("%s %s is encrypted: give its passphrase with %s-pass", keyName, keyFile, keyName)
	} else if err != nil {
		return tls.Certificate{}, fmt.Errorf("%s %s: %w", keyName, keyFile, err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("%s %s and %s %s: %w", certName, certFile, keyName, keyFile, err)
	}
	return pair, nil
}

// errNoPassphrase reports an encrypted key given without a passphrase.
var errNoPassphrase = errors.New("the key is encrypted and no passphrase is given")

// decryptKey returns the PEM private key in keyPEM, decrypted with pass
// when it is encrypted (PKCS #8 with PBES2, or the legacy
// "Proc-Type: 4,ENCRYPTED" form).
func decryptKey(keyPEM []byte, pass string) ([]byte, error) {
	for rest := keyPEM; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return keyPEM, nil // no key: tls.X509KeyPair says so
		}
		legacy := x509.IsEncryptedPEMBlock(b) //nolint:staticcheck // redis.conf keys may use it
		if b.Type != "ENCRYPTED PRIVATE KEY" && !legacy {
			continue
		}
		if pass == "" {
			return nil, errNoPassphrase
		}
		if legacy {
			der, err := x509.DecryptPEMBlock(b, []byte(pass)) //nolint:staticcheck // as above
			if err != nil {
				return nil, err
			}
			return pem.EncodeToMemory(&pem.Block{Type: b.Type, Bytes: der}), nil
		}
		der, err := decryptPKCS8(b.Bytes, pass)
		if err != nil {
			return nil, err
		}
		return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
	}
}

// loadCAs returns the CA certificates of tls-ca-cert-file and of the
// files in tls-ca-cert-dir (PEM; other files there are skipped).
func loadCAs(file, dir string) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	n := 0
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("tls-ca-cert-file: %w", err)
		}
		if !pool.AppendCertsFromPEM(b) {
			return nil, fmt.Errorf("tls-ca-cert-file %s: no PEM certificate in it", file)
		}
		n++
	}
	if dir != "" {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return nil, fmt.Errorf("tls-ca-cert-dir: %w", err)
		}
		for _, e := range entries {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err == nil && pool.AppendCertsFromPEM(b) {
				n++
			}
		}
		if n == 0 {
			return nil, fmt.Errorf("tls-ca-cert-dir %s: no PEM certificate in it", dir)
		}
	}
	return pool, nil
}
