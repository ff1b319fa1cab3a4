//! A minimal HTTP/1.1 server on raw TCP, so faults can be injected below the HTTP layer
//! (a reset connection, a body cut short) exactly as a flaky network produces them.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One parsed request.
pub struct Request {
    pub method: String,
    /// Path without the query string, percent-decoded.
    pub path: String,
    /// Query parameters, percent-decoded.
    pub query: Vec<(String, String)>,
    /// Lower-case header names.
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
}

/// What to send back.
pub enum Reply {
    Response {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// Close the connection without a response (the client sees a reset).
    Reset,
    /// Announce the full length, send half the body, close.
    Truncated { status: u16, body: Vec<u8> },
}

impl Reply {
    pub fn json(status: u16, value: &serde_json::Value) -> Reply {
        Reply::Response {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: serde_json::to_vec(value).unwrap_or_default(),
        }
    }

    pub fn with_header(mut self, name: &str, value: String) -> Reply {
        if let Reply::Response { headers, .. } = &mut self {
            headers.push((name.into(), value));
        }
        self
    }
}

pub trait Handler: Send + Sync + 'static {
    fn handle(&self, req: Request) -> impl std::future::Future<Output = Reply> + Send;
}

pub async fn serve<H: Handler>(listener: TcpListener, handler: Arc<H>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let handler = handler.clone();
        tokio::spawn(async move {
            let _ = connection(stream, handler).await;
        });
    }
}

async fn connection<H: Handler>(mut stream: TcpStream, handler: Arc<H>) -> std::io::Result<()> {
    let mut buf: Vec<u8> = Vec::with_capacity(8192);
    loop {
        let Some((req, used, close)) = read_request(&mut stream, &mut buf).await? else {
            return Ok(());
        };
        buf.drain(..used);
        match handler.handle(req).await {
            Reply::Response {
                status,
                headers,
                body,
            } => {
                let mut head = format!(
                    "HTTP/1.1 {status} {}\r\nContent-Length: {}\r\n",
                    reason(status),
                    body.len()
                );
                for (k, v) in headers {
                    head.push_str(&format!("{k}: {v}\r\n"));
                }
                if close {
                    head.push_str("Connection: close\r\n");
                }
                head.push_str("\r\n");
                // One write: a separate small head write would wait on Nagle + delayed ACK.
                let mut bytes = head.into_bytes();
                bytes.extend_from_slice(&body);
                stream.write_all(&bytes).await?;
                stream.flush().await?;
                if close {
                    return Ok(());
                }
            }
            Reply::Reset => {
                // Linger 0 makes close() send RST rather than FIN.
                let _ = socket_reset(&stream);
                return Ok(());
            }
            Reply::Truncated { status, body } => {
                let head = format!(
                    "HTTP/1.1 {status} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                    reason(status),
                    body.len()
                );
                stream.write_all(head.as_bytes()).await?;
                stream.write_all(&body[..body.len() / 2]).await?;
                stream.flush().await?;
                let _ = socket_reset(&stream);
                return Ok(());
            }
        }
    }
}

#[allow(deprecated)]
fn socket_reset(stream: &TcpStream) -> std::io::Result<()> {
    stream.set_linger(Some(std::time::Duration::ZERO))
}

/// Reads one request; `None` when the peer closed between requests.
async fn read_request(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
) -> std::io::Result<Option<(Request, usize, bool)>> {
    loop {
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut parsed = httparse::Request::new(&mut headers);
        if let httparse::Status::Complete(head_len) = parsed
            .parse(buf)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?
        {
            let mut map = HashMap::new();
            for h in parsed.headers.iter() {
                map.insert(
                    h.name.to_ascii_lowercase(),
                    String::from_utf8_lossy(h.value).into_owned(),
                );
            }
            let len: usize = map
                .get("content-length")
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            let method = parsed.method.unwrap_or("GET").to_string();
            let target = parsed.path.unwrap_or("/").to_string();
            let close = map
                .get("connection")
                .is_some_and(|v| v.eq_ignore_ascii_case("close"));
            while buf.len() < head_len + len {
                if read_more(stream, buf).await? == 0 {
                    return Ok(None);
                }
            }
            let body = buf[head_len..head_len + len].to_vec();
            let (path, query) = split_target(&target);
            return Ok(Some((
                Request {
                    method,
                    path,
                    query,
                    headers: map,
                    body,
                },
                head_len + len,
                close,
            )));
        }
        if read_more(stream, buf).await? == 0 {
            return Ok(None);
        }
    }
}

async fn read_more(stream: &mut TcpStream, buf: &mut Vec<u8>) -> std::io::Result<usize> {
    let mut chunk = [0u8; 16384];
    let n = stream.read(&mut chunk).await?;
    buf.extend_from_slice(&chunk[..n]);
    Ok(n)
}

pub fn split_target(target: &str) -> (String, Vec<(String, String)>) {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let query = query
        .split('&')
        .filter(|s| !s.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), decode(v))
        })
        .collect();
    (decode(path), query)
}

/// Percent-decodes a path or query component; `+` is a space, as in forms and the query
/// strings clients build.
pub fn decode(s: &str) -> String {
    let spaced = s.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8_lossy()
        .into_owned()
}

/// What [`encode`] leaves as is: unreserved characters, plus the `$`, `,`, `(` and `)` that
/// OData query options are written with.
const KEPT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'$')
    .remove(b',')
    .remove(b'(')
    .remove(b')');

/// Percent-encodes a query component for the links the fake hands out.
pub fn encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, KEPT).to_string()
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_split_and_decoded_and_links_encoded() {
        let (path, query) =
            split_target("/v1.0/applications%2Fx?%24top=5&%24filter=a+eq+%27b%27&flag");
        assert_eq!(path, "/v1.0/applications/x");
        assert_eq!(
            query,
            [
                ("$top".to_string(), "5".to_string()),
                ("$filter".to_string(), "a eq 'b'".to_string()),
                ("flag".to_string(), String::new()),
            ]
        );
        assert_eq!(
            encode("$select=id,appId (x)/ü"),
            "$select%3Did,appId%20(x)%2F%C3%BC"
        );
        assert_eq!(decode(&encode("a+b c%/ü")), "a+b c%/ü");
        // A broken escape stays as it was, as servers do.
        assert_eq!(decode("100%"), "100%");
        assert_eq!(decode("%zz"), "%zz");
    }
}
