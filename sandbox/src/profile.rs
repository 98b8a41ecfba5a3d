//! The seller's size (profile) and the seeded generator every fact is drawn from.

/// How big the generated seller is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfileName {
    Small,
    Medium,
    Large,
}

impl std::str::FromStr for ProfileName {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "small" => Ok(Self::Small),
            "medium" => Ok(Self::Medium),
            "large" => Ok(Self::Large),
            other => Err(format!("unknown sandbox profile '{other}': use small, medium or large")),
        }
    }
}

/// The knobs of a generated seller.
#[derive(Debug, Clone)]
pub struct Profile {
    pub wb_skus: usize,
    pub ozon_skus: usize,
    pub wb_orders_per_day: u32,
    pub ozon_postings_per_day: u32,
    /// Share of orders cancelled before shipping.
    pub cancel_rate: f64,
    /// Share of bought-out units returned later.
    pub return_rate: f64,
}

impl Profile {
    pub fn named(name: ProfileName) -> Self {
        match name {
            ProfileName::Small => Profile {
                wb_skus: 8,
                ozon_skus: 6,
                wb_orders_per_day: 20,
                ozon_postings_per_day: 15,
                cancel_rate: 0.08,
                return_rate: 0.10,
            },
            ProfileName::Medium => Profile {
                wb_skus: 40,
                ozon_skus: 30,
                wb_orders_per_day: 150,
                ozon_postings_per_day: 120,
                cancel_rate: 0.07,
                return_rate: 0.12,
            },
            ProfileName::Large => Profile {
                wb_skus: 400,
                ozon_skus: 300,
                wb_orders_per_day: 4000,
                ozon_postings_per_day: 3500,
                cancel_rate: 0.06,
                return_rate: 0.15,
            },
        }
    }
}

/// splitmix64: tiny, fast and stable across platforms and crate versions, which a seeded
/// generator whose output tests depend on must be.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
}
