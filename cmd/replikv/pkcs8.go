package main

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"hash"
)

// The object identifiers of PKCS #5 v2 (RFC 8018) that an encrypted
// PKCS #8 key written by OpenSSL uses.
var (
	oidPBES2      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 13}
	oidPBKDF2     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}
	oidHMACSHA1   = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 7}
	oidHMACSHA256 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 9}
	oidHMACSHA384 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 10}
	oidHMACSHA512 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 11}
	oidAES128CBC  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 2}
	oidAES192CBC  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 22}
	oidAES256CBC  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 42}
)

// encryptedPrivateKeyInfo is PKCS #8's EncryptedPrivateKeyInfo.
type encryptedPrivateKeyInfo struct {
	Algo pkix.AlgorithmIdentifier
	Data []byte
}

// pbes2Params are PBES2's parameters: how the key is derived, and the
// cipher.
type pbes2Params struct {
	KDF pkix.AlgorithmIdentifier
	Enc pkix.AlgorithmIdentifier
}

// pbkdf2Params are PBKDF2's parameters; PRF defaults to HMAC-SHA1.
type pbkdf2Params struct {
	Salt   []byte
	Iter   int
	KeyLen int                      `asn1:"optional"`
	PRF    pkix.AlgorithmIdentifier `asn1:"optional"`
}

// errBadPassphrase reports a passphrase that does not decrypt a key.
var errBadPassphrase = errors.New("wrong passphrase, or a damaged key")

// decryptPKCS8 decrypts the DER of an "ENCRYPTED PRIVATE KEY" (PBES2
// with PBKDF2 and AES-CBC, what OpenSSL writes) with pass, returning the
// DER of the PKCS #8 key.
func decryptPKCS8(der []byte, pass string) ([]byte, error) {
	var info encryptedPrivateKeyInfo
	if _, err := asn1.Unmarshal(der, &info); err != nil {
		return nil, fmt.Errorf("reading the encrypted key: %w", err)
	}
	if !info.Algo.Algorithm.Equal(oidPBES2) {
		return nil, fmt.Errorf("the key is encrypted with %v; replikv reads PBES2 (openssl pkey -aes256 writes it)", info.Algo.Algorithm)
	}
	var p pbes2Params
	if _, err := asn1.Unmarshal(info.Algo.Parameters.FullBytes, &p); err != nil {
		return nil, fmt.Errorf("reading the PBES2 parameters: %w", err)
	}
	var kdf pbkdf2Params
	if !p.KDF.Algorithm.Equal(oidPBKDF2) {
		return nil, fmt.Errorf("the key's password is derived with %v; replikv reads PBKDF2", p.KDF.Algorithm)
	}
	if _, err := asn1.Unmarshal(p.KDF.Parameters.FullBytes, &kdf); err != nil {
		return nil, fmt.Errorf("reading the PBKDF2 parameters: %w", err)
	}
	var h func() hash.Hash
	switch prf := kdf.PRF.Algorithm; {
	case len(prf) == 0 || prf.Equal(oidHMACSHA1):
		h = sha1.New
	case prf.Equal(oidHMACSHA256):
		h = sha256.New
	case prf.Equal(oidHMACSHA384):
		h = sha512.New384
	case prf.Equal(oidHMACSHA512):
		h = sha512.New
	default:
		return nil, fmt.Errorf("the key's PBKDF2 uses %v; replikv reads HMAC-SHA1, -SHA256, -SHA384 and -SHA512", prf)
	}
	sizes := map[string]int{oidAES128CBC.String(): 16, oidAES192CBC.String(): 24, oidAES256CBC.String(): 32}
	keyLen, ok := sizes[p.Enc.Algorithm.String()]
	if !ok {
		return nil, fmt.Errorf("the key is encrypted with %v; replikv reads AES-CBC", p.Enc.Algorithm)
	}
	var iv []byte
	if _, err := asn1.Unmarshal(p.Enc.Parameters.FullBytes, &iv); err != nil || len(iv) != aes.BlockSize {
		return nil, errors.New("the key's AES-CBC IV is not 16 bytes")
	}
	if kdf.Iter < 1 || (kdf.KeyLen != 0 && kdf.KeyLen != keyLen) {
		return nil, errors.New("the key's PBKDF2 parameters are invalid")
	}
	key, err := pbkdf2.Key(h, pass, kdf.Salt, kdf.Iter, keyLen)
	if err != nil {
		return nil, err
	}
	data := info.Data
	if len(data) == 0 || len(data)%aes.BlockSize != 0 {
		return nil, errBadPassphrase
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	out := make([]byte, len(data))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(out, data)
	pad := int(out[len(out)-1])
	if pad < 1 || pad > aes.BlockSize {
		return nil, errBadPassphrase
	}
	for _, b := range out[len(out)-pad:] {
		if int(b) != pad {
			return nil, errBadPassphrase
		}
	}
	return out[:len(out)-pad], nil
}
