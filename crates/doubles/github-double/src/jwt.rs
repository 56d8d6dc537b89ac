//! RS256 JSON Web Token checks: the GitHub App JWT and the OIDC token octo-sts exchanges.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::pkcs8::DecodePublicKey;
use rsa::signature::Verifier;
use rsa::{BigUint, RsaPublicKey};
use serde_json::Value;
use sha2::Sha256;

/// An RSA verification key, with the `kid` it is published under (JWKS) if any.
#[derive(Clone, Debug)]
pub struct Key {
    pub kid: Option<String>,
    pub key: RsaPublicKey,
}

/// Reads a PEM public key (`BEGIN PUBLIC KEY` or `BEGIN RSA PUBLIC KEY`).
pub fn key_from_pem(pem: &str) -> Result<Key, String> {
    let key = RsaPublicKey::from_public_key_pem(pem)
        .or_else(|_| {
            use rsa::pkcs1::DecodeRsaPublicKey;
            RsaPublicKey::from_pkcs1_pem(pem)
        })
        .map_err(|e| format!("not an RSA public key in PEM: {e}"))?;
    Ok(Key { kid: None, key })
}

/// Reads the RSA keys of a JWKS document.
pub fn keys_from_jwks(jwks: &Value) -> Result<Vec<Key>, String> {
    let mut out = Vec::new();
    for k in jwks["keys"].as_array().ok_or("JWKS has no `keys` array")? {
        if k["kty"] != "RSA" {
            continue;
        }
        let part = |name: &str| {
            k[name]
                .as_str()
                .and_then(|s| URL_SAFE_NO_PAD.decode(s).ok())
                .map(|b| BigUint::from_bytes_be(&b))
                .ok_or_else(|| format!("JWKS key without a valid `{name}`"))
        };
        let key = RsaPublicKey::new(part("n")?, part("e")?).map_err(|e| e.to_string())?;
        out.push(Key {
            kid: k["kid"].as_str().map(str::to_string),
            key,
        });
    }
    Ok(out)
}

/// Verifies an RS256 JWT's signature against `keys` and its `exp`/`nbf`/`iat` against
/// `now`; returns the claims.
pub fn verify(token: &str, keys: &[Key], now: i64) -> Result<Value, String> {
    let mut parts = token.split('.');
    let (Some(h), Some(c), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("not a JWT".into());
    };
    let decode = |p: &str| {
        URL_SAFE_NO_PAD
            .decode(p)
            .map_err(|_| "bad base64url in JWT")
    };
    let header: Value = serde_json::from_slice(&decode(h)?).map_err(|_| "bad JWT header")?;
    let claims: Value = serde_json::from_slice(&decode(c)?).map_err(|_| "bad JWT claims")?;
    if header["alg"] != "RS256" {
        return Err(format!("JWT alg {} is not RS256", header["alg"]));
    }
    let signature = Signature::try_from(decode(s)?.as_slice()).map_err(|e| e.to_string())?;
    let signed = format!("{h}.{c}");
    let kid = header["kid"].as_str();
    let ok = keys
        .iter()
        .filter(|k| kid.is_none() || k.kid.is_none() || k.kid.as_deref() == kid)
        .any(|k| {
            VerifyingKey::<Sha256>::new(k.key.clone())
                .verify(signed.as_bytes(), &signature)
                .is_ok()
        });
    if !ok {
        return Err("JWT signature does not verify".into());
    }
    let exp = claims["exp"].as_i64().ok_or("JWT has no exp")?;
    if exp <= now {
        return Err("JWT has expired".into());
    }
    if let Some(nbf) = claims["nbf"].as_i64()
        && nbf > now + 60
    {
        return Err("JWT is not valid yet".into());
    }
    if let Some(iat) = claims["iat"].as_i64()
        && iat > now + 60
    {
        return Err("JWT was issued in the future".into());
    }
    Ok(claims)
}
