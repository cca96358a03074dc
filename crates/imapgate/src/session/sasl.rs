//! AUTHENTICATE before login: PLAIN and LOGIN are decoded into credentials;
//! XOAUTH2 and OAUTHBEARER are passed to the server as the client sent them.

use base64::Engine;
use imapgate_proto::scan::{self, TokenKind};

use super::io::{FramedStream, Read};
use super::secret::{Credentials, OAuth, Secret};

/// Largest SASL response line read from a client.
const MAX_RESPONSE: usize = 8 * 1024;

/// Why an AUTHENTICATE failed: the tagged reply text for the client.
pub type Refusal = &'static str;

/// Runs the client's side of `AUTHENTICATE mechanism [initial-response]`.
/// `oauth` tells whether XOAUTH2 and OAUTHBEARER are offered. I/O errors
/// end the session; a refusal is the tagged reply text for the client.
pub async fn authenticate(
    message: &[u8],
    args_at: usize,
    client: &mut FramedStream,
    oauth: bool,
) -> std::io::Result<Result<Credentials, Refusal>> {
    match exchange(message, args_at, client, oauth).await {
        Ok(credentials) => Ok(Ok(credentials)),
        Err(Failure::Refused(refusal)) => Ok(Err(refusal)),
        Err(Failure::Io(error)) => Err(error),
    }
}

/// Why an exchange ended without credentials.
enum Failure {
    Io(std::io::Error),
    Refused(Refusal),
}

impl From<std::io::Error> for Failure {
    fn from(error: std::io::Error) -> Self {
        Failure::Io(error)
    }
}

impl From<Refusal> for Failure {
    fn from(refusal: Refusal) -> Self {
        Failure::Refused(refusal)
    }
}

async fn exchange(
    message: &[u8],
    args_at: usize,
    client: &mut FramedStream,
    oauth: bool,
) -> Result<Credentials, Failure> {
    let tokens = scan::tokenize(message, args_at).map_err(|_| "BAD Invalid AUTHENTICATE arguments")?;
    let mechanism = tokens
        .first()
        .and_then(|token| scan::string_value(message, token))
        .map(|name| String::from_utf8_lossy(&name).to_ascii_uppercase())
        .unwrap_or_default();
    let initial = tokens.get(1).filter(|token| token.kind != TokenKind::End).map(|token| {
        Secret::new(scan::string_value(message, token).map(|value| value.into_owned()).unwrap_or_default())
    });

    match mechanism.as_str() {
        "PLAIN" => {
            let response = initial_or_prompt(initial, client, b"+ \r\n").await?;
            let decoded = decode(&response)?;
            Ok(Credentials::from_plain(decoded.expose()).ok_or("BAD Invalid PLAIN authentication message")?)
        }
        "LOGIN" => {
            // Prompts are "Username:" and "Password:" in base64.
            let user = initial_or_prompt(initial, client, b"+ VXNlcm5hbWU6\r\n").await?;
            let password = read_response(client, b"+ UGFzc3dvcmQ6\r\n").await?;
            let (user, password) = (decode(&user)?, decode(&password)?);
            let user = String::from_utf8(user.expose().to_vec()).map_err(|_| "BAD The user name is not UTF-8")?;
            Ok(Credentials { authzid: None, user, password, oauth: None })
        }
        "XOAUTH2" | "OAUTHBEARER" if oauth => {
            let response = initial_or_prompt(initial, client, b"+ \r\n").await?;
            let decoded = decode(&response)?;
            let (user, token) = parse_oauth(decoded.expose()).ok_or("BAD Invalid OAuth authentication message")?;
            let oauth = OAuth { mechanism: if mechanism == "XOAUTH2" { "XOAUTH2" } else { "OAUTHBEARER" }, response };
            Ok(Credentials { authzid: None, user, password: token, oauth: Some(oauth) })
        }
        _ => Err(Failure::Refused("NO [CANNOT] Unsupported authentication mechanism")),
    }
}

/// The initial response when the client sent one (SASL-IR), else the
/// response to `prompt`.
async fn initial_or_prompt(
    initial: Option<Secret>,
    client: &mut FramedStream,
    prompt: &[u8],
) -> Result<Secret, Failure> {
    match initial {
        Some(response) => Ok(response),
        None => read_response(client, prompt).await,
    }
}

/// Sends a continuation request and reads the client's response line;
/// `*` cancels the exchange.
async fn read_response(client: &mut FramedStream, prompt: &[u8]) -> Result<Secret, Failure> {
    client.write_all(prompt).await?;
    let line = match client.read_message(MAX_RESPONSE).await? {
        Read::Message(line) => line,
        Read::TooLarge(_) => return Err(Failure::Refused("BAD Authentication response too large")),
        Read::Closed => return Err(Failure::Io(std::io::ErrorKind::UnexpectedEof.into())),
    };
    let response = Secret::new(line.strip_suffix(b"\r\n").or(line.strip_suffix(b"\n")).unwrap_or(&line).to_vec());
    if response.expose() == b"*" {
        return Err(Failure::Refused("BAD Authentication cancelled"));
    }
    Ok(response)
}

/// Decodes a base64 response; `=` is an empty initial response (RFC 4959).
fn decode(response: &Secret) -> Result<Secret, Refusal> {
    let encoded = if response.expose() == b"=" { &b""[..] } else { response.expose() };
    base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map(Secret::new)
        .map_err(|_| "BAD Invalid base64 in authentication response")
}

/// The user and bearer token of an XOAUTH2 (`user=U^Aauth=Bearer T^A^A`) or
/// OAUTHBEARER (`n,a=U,^Aauth=Bearer T^A^A`, RFC 7628) message.
fn parse_oauth(message: &[u8]) -> Option<(String, Secret)> {
    let mut user = None;
    let mut token = None;
    for field in message.split(|byte| *byte == 0x01) {
        if let Some(value) = field.strip_prefix(b"user=") {
            user = Some(String::from_utf8(value.to_vec()).ok()?);
        } else if let Some(gs2) = field.strip_prefix(b"n,") {
            let authzid = gs2.strip_prefix(b"a=").and_then(|rest| rest.split(|byte| *byte == b',').next());
            if let Some(authzid) = authzid.filter(|name| !name.is_empty()) {
                user = Some(String::from_utf8(authzid.to_vec()).ok()?);
            }
        } else if let Some(value) = field.strip_prefix(b"auth=") {
            let bearer = value.get(..7).filter(|prefix| prefix.eq_ignore_ascii_case(b"Bearer "))?;
            let _ = bearer;
            token = Some(Secret::new(value[7..].to_vec()));
        }
    }
    Some((user?, token?))
}

#[cfg(test)]
mod tests {
    use super::parse_oauth;

    #[test]
    fn xoauth2_message() {
        let (user, token) = parse_oauth(b"user=alice@example.com\x01auth=Bearer ya29.token\x01\x01").unwrap();
        assert_eq!(user, "alice@example.com");
        assert_eq!(token.expose(), b"ya29.token");
    }

    #[test]
    fn oauthbearer_message() {
        let message = b"n,a=alice@example.com,\x01host=imap.example.com\x01port=993\x01auth=Bearer abc\x01\x01";
        let (user, token) = parse_oauth(message).unwrap();
        assert_eq!(user, "alice@example.com");
        assert_eq!(token.expose(), b"abc");
    }

    #[test]
    fn oauth_without_token_is_rejected() {
        assert!(parse_oauth(b"user=alice\x01\x01").is_none());
        assert!(parse_oauth(b"auth=Bearer x\x01\x01").is_none());
    }
}
