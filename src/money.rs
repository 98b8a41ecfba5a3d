//! Exact money: amounts are parsed from the API's text into integer kopecks (scale 2) and never
//! pass through binary floating point. The lake stores them as Decimal(18,2).

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serializer, de};

/// An amount in kopecks (1/100 of a ruble, or of the row's currency).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Kopecks(pub i64);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("money value '{text}' {why}")]
pub struct MoneyError {
    pub text: String,
    pub why: &'static str,
}

impl FromStr for Kopecks {
    type Err = MoneyError;

    /// Accepts "1259", "2279.0000", "-160.5", "1120.55". Rejects anything that is not a plain
    /// decimal ("1,234.56", " 12.5", "1e3") and amounts with fractions of a kopeck, which a
    /// silent rounding would turn into wrong totals.
    fn from_str(text: &str) -> Result<Self, MoneyError> {
        plain(text, 2, MAX_RUBLES * 100).map_or_else(|| Kopecks::from_decimal(text), |k| Ok(Kopecks(k)))
    }
}

impl Kopecks {
    /// Any text `Decimal` reads, checked and scaled: every amount before [`plain`], the rest now.
    fn from_decimal(text: &str) -> Result<Self, MoneyError> {
        let err = |why| MoneyError { text: text.to_string(), why };
        let d = Decimal::from_str_exact(text).map_err(|_| err("is not a decimal number"))?;
        let mut scaled = d.normalize();
        if scaled.scale() > 2 {
            return Err(err("has fractions of a kopeck"));
        }
        scaled.rescale(2);
        i64::try_from(scaled.mantissa())
            .ok()
            .filter(|k| k.unsigned_abs() <= MAX_RUBLES * 100)
            .map(Kopecks)
            .ok_or_else(|| err("is beyond any real amount (over 10 trillion rubles)"))
    }
}

/// The common case of a money text read without `Decimal`: `-?digits(.digits)?` with at most 18
/// digits once scaled and 20 after the point, nothing but zeros past `scale`, within `limit`
/// units of 10^-`scale`. None for anything else, which the `Decimal` path reads (or refuses) as
/// before: the same value or the same error either way. Every amount through `Decimal` (and a
/// JSON number through a `Value` and an allocated text) was 14 % of decoding a WB finance page.
fn plain(text: &str, scale: usize, limit: u64) -> Option<i64> {
    let b = text.as_bytes();
    let (negative, b) = match b.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, b),
    };
    let (int, frac) = match b.iter().position(|c| *c == b'.') {
        Some(dot) => (&b[..dot], &b[dot + 1..]),
        None => (b, &b[b.len()..]),
    };
    let digits = |d: &[u8]| d.iter().all(u8::is_ascii_digit);
    if int.is_empty() || int.len() + scale > 18 || frac.len() > 20 || !digits(int) || !digits(frac) {
        return None;
    }
    if b.len() > int.len() && frac.is_empty() {
        return None;
    }
    if frac.iter().skip(scale).any(|c| *c != b'0') {
        return None;
    }
    let mut v: u64 = 0;
    for c in int.iter().chain(frac.iter().chain(std::iter::repeat(&b'0')).take(scale)) {
        v = v * 10 + u64::from(c - b'0');
    }
    if v > limit {
        return None;
    }
    let v = i64::try_from(v).ok()?;
    Some(if negative { -v } else { v })
}

/// The largest amount, in rubles, mpetl reads. Far beyond any seller's figure, and small enough
/// that thousands of them add up without overflowing i64 kopecks: a corrupted or hostile body
/// with a value near i64::MAX is refused as a value, not met later as an overflow.
pub const MAX_RUBLES: u64 = 10_000_000_000_000;

impl Kopecks {
    pub fn abs(self) -> Kopecks {
        Kopecks(self.0.abs())
    }
}

/// An amount in ten-thousandths of a ruble: for fields that the marketplace itself sends with
/// fractions of a kopeck (WB's `rebillLogisticCost: "1.349"` in its own spec). Only informational
/// fields use it; money that adds up to a payout stays in [`Kopecks`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Precise(pub i64);

/// The scale of [`Precise`].
pub const PRECISE_SCALE: usize = 4;

impl FromStr for Precise {
    type Err = MoneyError;

    fn from_str(text: &str) -> Result<Self, MoneyError> {
        plain(text, PRECISE_SCALE, MAX_RUBLES * 10_000).map_or_else(|| Precise::from_decimal(text), |p| Ok(Precise(p)))
    }
}

impl Precise {
    fn from_decimal(text: &str) -> Result<Self, MoneyError> {
        let err = |why| MoneyError { text: text.to_string(), why };
        let d = Decimal::from_str_exact(text).map_err(|_| err("is not a decimal number"))?;
        let mut scaled = d.normalize();
        if scaled.scale() > PRECISE_SCALE as u32 {
            return Err(err("has more than four decimal places"));
        }
        scaled.rescale(PRECISE_SCALE as u32);
        i64::try_from(scaled.mantissa())
            .ok()
            .filter(|p| p.unsigned_abs() <= MAX_RUBLES * 10_000)
            .map(Precise)
            .ok_or_else(|| err("is beyond any real amount (over 10 trillion rubles)"))
    }
}

impl fmt::Display for Kopecks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_kopecks(i128::from(self.0)))
    }
}

/// "-0.05", "1234.50": exact, no float.
pub fn format_kopecks(k: i128) -> String {
    let sign = if k < 0 { "-" } else { "" };
    let a = k.unsigned_abs();
    format!("{sign}{}.{:02}", a / 100, a % 100)
}

/// Kopecks written as an exact decimal string ("-1234.05") in JSON: a float would round them.
pub fn ser_kopecks<S: Serializer>(k: &i128, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_kopecks(*k))
}

/// Groups thousands with a thin space for people: "1 234 567.89".
pub fn format_kopecks_human(k: i128) -> String {
    let plain = format_kopecks(k);
    let (sign, rest) = plain.strip_prefix('-').map_or(("", plain.as_str()), |r| ("-", r));
    let (int, frac) = rest.split_once('.').unwrap_or((rest, "00"));
    let mut grouped = String::new();
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push('\u{202F}');
        }
        grouped.push(ch);
    }
    format!("{sign}{grouped}.{frac}")
}

/// Money sent as a JSON string ("376.99") or a JSON number (1120.55), in kopecks.
pub fn de_money<'de, D: Deserializer<'de>>(d: D) -> Result<Kopecks, D::Error> {
    de_amount(d)
}

/// For an optional amount (`#[serde(default, ...)]`): null, like a missing field, is zero.
pub fn de_money_or_zero<'de, D: Deserializer<'de>>(d: D) -> Result<Kopecks, D::Error> {
    Ok(Option::<Amount<Kopecks>>::deserialize(d)?.map(|a| a.0).unwrap_or_default())
}

/// As [`de_money_or_zero`], for [`Precise`] amounts.
pub fn de_precise_or_zero<'de, D: Deserializer<'de>>(d: D) -> Result<Precise, D::Error> {
    Ok(Option::<Amount<Precise>>::deserialize(d)?.map(|a| a.0).unwrap_or_default())
}

/// An amount read by [`de_amount`], for use inside `Option`.
struct Amount<T>(T);

impl<'de, T: FromStr<Err = MoneyError>> Deserialize<'de> for Amount<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        de_amount(d).map(Amount)
    }
}

/// As [`de_money`], for [`Precise`] amounts.
pub fn de_precise<'de, D: Deserializer<'de>>(d: D) -> Result<Precise, D::Error> {
    de_amount(d)
}

/// A number reaches us as the f64 serde_json parsed; its shortest round-trip text is the decimal
/// the API wrote for any amount with up to 15 significant digits, so no precision is invented.
/// That text (or an integer's digits) is written on the stack: no `Value` or `String` per amount.
fn de_amount<'de, D: Deserializer<'de>, T: FromStr<Err = MoneyError>>(d: D) -> Result<T, D::Error> {
    d.deserialize_any(AmountVisitor(std::marker::PhantomData))
}

struct AmountVisitor<T>(std::marker::PhantomData<T>);

impl<T: FromStr<Err = MoneyError>> de::Visitor<'_> for AmountVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("money as a string or number")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        v.parse().map_err(E::custom)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
        itoa::Buffer::new().format(v).parse().map_err(E::custom)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
        itoa::Buffer::new().format(v).parse().map_err(E::custom)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<T, E> {
        if !v.is_finite() {
            return Err(E::custom(format!("money value {v} is not a number")));
        }
        let mut buf = ryu::Buffer::new();
        let text = buf.format_finite(v);
        if text.contains('e') {
            // An exponent is never money; the error quotes the number as serde_json writes it.
            return serde_json::Number::from_f64(v)
                .map_or(Err(E::custom("money value is not a number")), |n| n.to_string().parse().map_err(E::custom));
        }
        text.parse().map_err(E::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_uneven_decimals_exactly() {
        assert_eq!("1259".parse::<Kopecks>().unwrap(), Kopecks(125_900));
        assert_eq!("2279.0000".parse::<Kopecks>().unwrap(), Kopecks(227_900));
        assert_eq!("1199.000000".parse::<Kopecks>().unwrap(), Kopecks(119_900));
        assert_eq!("-160.5".parse::<Kopecks>().unwrap(), Kopecks(-16_050));
        assert_eq!("0.1".parse::<Kopecks>().unwrap(), Kopecks(10));
    }

    #[test]
    fn rejects_sub_kopeck_and_garbage() {
        assert!("0.005".parse::<Kopecks>().is_err());
        // Regression (found by the decoder fuzz test): near i64::MAX kopecks, a sum of two
        // amounts overflowed (a panic, with overflow checks on).
        assert!("92233720368547758".parse::<Kopecks>().is_err());
        assert_eq!("10000000000000".parse::<Kopecks>(), Ok(Kopecks(1_000_000_000_000_000)));
        assert!("-10000000000000.01".parse::<Kopecks>().is_err());
        assert!("1,234.56".parse::<Kopecks>().is_err());
        assert!(" 12.5".parse::<Kopecks>().is_err());
        assert!("1e3".parse::<Kopecks>().is_err());
    }

    #[test]
    fn json_numbers_keep_their_decimals() {
        #[derive(Deserialize)]
        struct R {
            #[serde(deserialize_with = "de_money")]
            v: Kopecks,
        }
        for (text, k) in [
            ("1120.55", 112_055),
            ("1568.7", 156_870),
            ("2490", 249_000),
            ("0.07", 7),
            ("\"376.99\"", 37_699),
            ("-160", -16_000),
            ("-0.5", -50),
        ] {
            let r: R = serde_json::from_str(&format!("{{\"v\":{text}}}")).unwrap();
            assert_eq!(r.v, Kopecks(k), "{text}");
        }
    }

    proptest::proptest! {
        // As the fuzz tests: a failure is printed with its input, not saved beside the sources.
        #![proptest_config(proptest::test_runner::Config {
            failure_persistence: None,
            ..proptest::test_runner::Config::default()
        })]
        /// The fast path reads a plain decimal exactly as `Decimal` does, or leaves it to it.
        #[test]
        fn the_fast_path_agrees_with_decimal(
            negative: bool,
            int in proptest::collection::vec(0u8..10, 1..22),
            frac in proptest::option::of(proptest::collection::vec(0u8..10, 0..24)),
            zeros in 0usize..4,
        ) {
            let digits = |d: &[u8]| d.iter().map(|c| char::from(b'0' + c)).collect::<String>();
            let mut text = format!("{}{}", if negative { "-" } else { "" }, digits(&int));
            if let Some(f) = frac {
                text += &format!(".{}{}", digits(&f), "0".repeat(zeros));
            }
            if let Some(k) = plain(&text, 2, MAX_RUBLES * 100) {
                proptest::prop_assert_eq!(Kopecks::from_decimal(&text), Ok(Kopecks(k)), "{}", text);
            }
            if let Some(p) = plain(&text, PRECISE_SCALE, MAX_RUBLES * 10_000) {
                proptest::prop_assert_eq!(Precise::from_decimal(&text), Ok(Precise(p)), "{}", text);
            }
            proptest::prop_assert_eq!(text.parse::<Kopecks>().ok(), Kopecks::from_decimal(&text).ok(), "{}", text);
        }
    }

    #[test]
    fn precise_amounts_keep_fractions_of_a_kopeck() {
        assert_eq!("1.349".parse::<Precise>().unwrap(), Precise(13_490));
        assert_eq!("-0.15".parse::<Precise>().unwrap(), Precise(-1_500));
        assert!("0.00001".parse::<Precise>().is_err());
    }

    #[test]
    fn formats() {
        assert_eq!(format_kopecks(-5), "-0.05");
        assert_eq!(format_kopecks(123_456_789), "1234567.89");
        assert_eq!(format_kopecks_human(123_456_789), "1\u{202F}234\u{202F}567.89");
    }
}
