//! Reading an API body: a body that ends early or is not JSON may be a network accident and is
//! asked again; a body that is JSON but not the shape we read (a field missing or of another
//! type) will be the same next time, and says which field.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::error::Category;

/// Why a 2xx body could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// Cut off, or not JSON at all (an HTML page served with 200): worth asking again.
    Cut(String),
    /// Well-formed JSON of another shape: the API changed or the account sees another variant.
    Schema { field: String, detail: String },
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecodeError::Cut(d) => f.write_str(d),
            DecodeError::Schema { field, detail } => write!(f, "field {field}: {detail}"),
        }
    }
}

/// For `#[serde(default, deserialize_with = "or_default")]`: an optional field sent as null
/// reads as if it were missing, never failing the page (serde's `default` covers only missing).
pub fn or_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// Decodes `bytes` as `T`. The plain decoder runs first; only when the shape is wrong is the body
/// read again to find the path of the field, so a good page pays nothing for the path tracking.
pub fn json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, DecodeError> {
    // One UTF-8 check of the whole body (SIMD-fast) instead of one per string: the per-string
    // checks were 8 % of decoding a WB finance page (`bench`'s decode + write stage).
    let decoded = match std::str::from_utf8(bytes) {
        Ok(text) => serde_json::from_str(text),
        Err(_) => serde_json::from_slice(bytes),
    };
    match decoded {
        Ok(v) => Ok(v),
        Err(e) if e.classify() == Category::Data => {
            let mut de = serde_json::Deserializer::from_slice(bytes);
            let field = match serde_path_to_error::deserialize::<_, T>(&mut de).map(|_| ()) {
                Err(pe) if pe.path().to_string() != "." => pe.path().to_string(),
                _ => "(top level)".to_string(),
            };
            Err(DecodeError::Schema { field, detail: e.to_string() })
        }
        Err(e) => Err(DecodeError::Cut(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Row {
        id: u64,
        #[serde(default, deserialize_with = "or_default")]
        note: String,
        #[serde(default, deserialize_with = "crate::money::de_money_or_zero")]
        fee: crate::money::Kopecks,
    }

    #[test]
    fn a_cut_body_is_asked_again_and_a_wrong_shape_names_the_field() {
        assert!(matches!(json::<Vec<Row>>(br#"[{"id":1},{"id":"#), Err(DecodeError::Cut(_))));
        assert!(matches!(json::<Vec<Row>>(b"<html>502 Bad Gateway</html>"), Err(DecodeError::Cut(_))));
        assert!(matches!(json::<Vec<Row>>(br#"[{"id":1}] trailing"#), Err(DecodeError::Cut(_))));
        let Err(DecodeError::Schema { field, .. }) = json::<Vec<Row>>(br#"[{"id":1},{"id":"x"}]"#) else {
            panic!("a string id is the wrong shape");
        };
        assert_eq!(field, "[1].id");
        let Err(DecodeError::Schema { field, detail }) = json::<Vec<Row>>(br#"[{"id":1},{"note":"n"}]"#) else {
            panic!("a missing id is the wrong shape");
        };
        assert!(field.starts_with("[1]") && detail.contains("missing field `id`"), "{field}: {detail}");
        // Optional fields sent as null read as missing; unknown fields are ignored.
        let rows = json::<Vec<Row>>(br#"[{"id":1,"note":null,"fee":null,"extra":[1]},{"id":2,"fee":"1.5"}]"#).unwrap();
        assert_eq!((rows[0].note.as_str(), rows[0].fee, rows[1].fee.0), ("", crate::money::Kopecks(0), 150));
    }
}
