//! A proxy in front of the sandbox: answers one endpoint with a fault while one is set, and keeps
//! the longest 200 body of each endpoint it forwarded (a corpus of real bodies).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

/// What the proxy answers instead of the sandbox.
#[derive(Clone, Copy)]
pub enum Answer {
    /// This status, headers and body.
    Fixed(u16, &'static [(&'static str, &'static str)], &'static str),
    /// The sandbox's own answer, cut in half (a connection dropped mid-body).
    CutInHalf,
}

type Fault = Option<(&'static str, Answer)>;

pub struct Proxy {
    pub url: String,
    fault: Arc<Mutex<Fault>>,
    bodies: Arc<Mutex<BTreeMap<String, Vec<u8>>>>,
}

impl Proxy {
    pub async fn start(upstream: &str) -> Proxy {
        let fault: Arc<Mutex<Fault>> = Arc::default();
        let bodies: Arc<Mutex<BTreeMap<String, Vec<u8>>>> = Arc::default();
        let (f, b, upstream) = (fault.clone(), bodies.clone(), upstream.to_string());
        let http = mpetl::http::client(std::time::Duration::from_secs(60));
        let app = axum::Router::new().fallback(move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
            let (http, upstream, fault, bodies) = (http.clone(), upstream.clone(), *f.lock().unwrap(), b.clone());
            async move { answer(&http, &upstream, fault, &bodies, method, uri, headers, body).await }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Proxy { url, fault, bodies }
    }

    pub fn set_fault(&self, fault: Fault) {
        *self.fault.lock().unwrap() = fault;
    }

    /// The longest 200 body forwarded for each path.
    pub fn bodies(&self) -> BTreeMap<String, Vec<u8>> {
        self.bodies.lock().unwrap().clone()
    }
}

#[allow(clippy::too_many_arguments)]
async fn answer(
    http: &reqwest::Client,
    upstream: &str,
    fault: Fault,
    bodies: &Mutex<BTreeMap<String, Vec<u8>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let answer = fault.filter(|(path, _)| *path == uri.path()).map(|(_, a)| a);
    if let Some(Answer::Fixed(status, extra, text)) = answer {
        let mut r = (StatusCode::from_u16(status).unwrap(), text).into_response();
        for (k, v) in extra {
            r.headers_mut().insert(*k, v.parse().unwrap());
        }
        return r;
    }
    let target = format!("{upstream}{}", uri.path_and_query().map_or("", |p| p.as_str()));
    let mut req = http.request(method, target).body(body);
    for (k, v) in &headers {
        if k != "host" && k != "content-length" {
            req = req.header(k, v);
        }
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    let kept: Vec<(axum::http::HeaderName, axum::http::HeaderValue)> = resp
        .headers()
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "content-length" | "transfer-encoding" | "connection"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut bytes = resp.bytes().await.unwrap().to_vec();
    if status == StatusCode::OK {
        let mut b = bodies.lock().unwrap();
        let longest = b.entry(uri.path().to_string()).or_default();
        if bytes.len() > longest.len() {
            *longest = bytes.clone();
        }
    }
    if matches!(answer, Some(Answer::CutInHalf)) {
        bytes.truncate(bytes.len() / 2);
    }
    let mut r: Response = (status, bytes).into_response();
    for (k, v) in kept {
        r.headers_mut().insert(k, v);
    }
    r
}
