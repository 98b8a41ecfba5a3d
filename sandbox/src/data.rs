//! The sandbox seller: deterministic facts generated from a seed and a profile, viewed "as of" a
//! frozen `now`, plus the ground truth computed from those facts (never from the HTTP responses).

use chrono::{DateTime, Datelike, Duration, NaiveDateTime, TimeZone, Timelike, Utc};
use chrono_tz::Europe::Moscow;

pub use crate::profile::{Profile, ProfileName, Rng};

#[derive(Debug, Clone)]
pub struct WbSku {
    pub nm_id: i64,
    pub article: String,
    pub barcode: String,
    pub brand: &'static str,
    pub subject: &'static str,
    /// Price before the seller discount, whole rubles in kopecks.
    pub total_price_kop: i64,
    pub discount_percent: i64,
}

#[derive(Debug, Clone)]
pub struct OzonSku {
    pub sku: i64,
    pub offer_id: String,
    pub name: String,
    pub price_kop: i64,
    /// Which of the uneven decimal spellings the API uses for this SKU's price.
    pub price_style: u8,
}

/// A WB statistics timestamp: naive Moscow time plus the exact text WB would send.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct WbStamp {
    pub at: NaiveDateTime,
    pub text: String,
}

#[derive(Debug, Clone)]
pub struct WbOrder {
    pub srid: String,
    pub sku: usize,
    pub date: NaiveDateTime,
    pub last_change: WbStamp,
    pub cancel_date: Option<NaiveDateTime>,
    pub price_with_disc_kop: i64,
    pub finished_price_kop: i64,
    pub spp: i64,
    pub g_number: String,
    pub income_id: i64,
    pub warehouse: &'static str,
    pub region: &'static str,
}

#[derive(Debug, Clone)]
pub struct WbSale {
    pub sale_id: String,
    pub srid: String,
    pub sku: usize,
    pub date: NaiveDateTime,
    pub last_change: WbStamp,
    pub is_return: bool,
    /// Returns are sent with negative money on some rows and positive on others, as in the wild.
    pub negative_money: bool,
    pub price_with_disc_kop: i64,
    pub finished_price_kop: i64,
    pub for_pay_kop: i64,
    pub spp: i64,
    pub g_number: String,
    pub warehouse: &'static str,
    pub region: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OzonSchema {
    Fbo,
    Fbs,
}

#[derive(Debug, Clone)]
pub struct OzonProduct {
    pub sku: usize,
    pub quantity: i64,
}

#[derive(Debug, Clone)]
pub struct OzonPosting {
    /// Position in the keyset order; the cursor's tie breaker.
    pub id: u64,
    pub posting_number: String,
    pub order_id: i64,
    pub schema: OzonSchema,
    pub in_process_at: DateTime<Utc>,
    /// 0: `Z`, 1: `.000Z`, 2: `.607000Z`-style fractional digits.
    pub time_style: u8,
    pub status: &'static str,
    pub substatus: &'static str,
    pub delivered_at: Option<DateTime<Utc>>,
    pub products: Vec<OzonProduct>,
}

/// Everything the sandbox seller has, as of `now`.
#[derive(Debug)]
pub struct SellerData {
    pub now: DateTime<Utc>,
    pub wb_skus: Vec<WbSku>,
    pub ozon_skus: Vec<OzonSku>,
    /// Visible orders (retention applied), sorted by (lastChangeDate, srid).
    pub wb_orders: Vec<WbOrder>,
    /// Visible sales and returns, sorted by (lastChangeDate, saleID).
    pub wb_sales: Vec<WbSale>,
    /// Every sale and return up to `now`, retention aside: what the finance reports settle.
    pub wb_sale_facts: Vec<WbSale>,
    /// All postings up to `now`, sorted by (in_process_at, id).
    pub ozon_postings: Vec<OzonPosting>,
    /// Finance reports, accruals, ads and purchase costs of the same trade.
    pub finance: super::finance::Finance,
    /// WB's stock now, sorted by `lastChangeDate`.
    pub wb_stocks: Vec<super::wb_stocks::WbStock>,
}

/// WB keeps statistics this long after the event.
pub const WB_RETENTION_DAYS: i64 = 90;

const WAREHOUSES: [&str; 4] = ["Коледино", "Электросталь", "Казань", "Краснодар"];
const REGIONS: [&str; 4] = ["Московская", "Татарстан", "Краснодарский", "Свердловская"];
const BRANDS: [&str; 3] = ["Acme", "Северный ветер", "Polar & Co"];
const SUBJECTS: [&str; 4] = ["Футболки", "Худи", "Носки", "Кружки"];

pub fn msk_naive(t: DateTime<Utc>) -> NaiveDateTime {
    t.with_timezone(&Moscow).naive_local()
}

fn msk_to_utc(t: NaiveDateTime) -> DateTime<Utc> {
    // Moscow has had a fixed +03:00 offset since 2014, so this is never ambiguous.
    Moscow.from_local_datetime(&t).single().expect("Moscow has no DST").with_timezone(&Utc)
}

/// Statistics are refreshed in batches, so many rows share one `lastChangeDate`: the next
/// half-hour tick after the event, with a fractional part that varies by tick (WB sends
/// `…:40`, `…:40.5`, `…:40.25`, `…:40.123`). Shared stamps are what makes `>=` paging repeat
/// rows across pages.
fn tick_after(t: NaiveDateTime) -> WbStamp {
    let minute = t.minute();
    let (hour_shift, minute) = if minute < 5 {
        (0, 5)
    } else if minute < 35 {
        (0, 35)
    } else {
        (1, 5)
    };
    let base = t.date().and_hms_opt(t.hour(), 0, 0).unwrap() + Duration::hours(hour_shift);
    let index = (base.and_utc().timestamp() / 1800) as u64 + u64::from(minute == 35);
    let second = 12 + (index % 40) as u32;
    let (millis, frac) = match index % 4 {
        0 => (0, ""),
        1 => (500, ".5"),
        2 => (250, ".25"),
        _ => (123, ".123"),
    };
    let at = base
        + Duration::minutes(i64::from(minute))
        + Duration::seconds(i64::from(second))
        + Duration::milliseconds(millis);
    let text = format!("{}{}", at.format("%Y-%m-%dT%H:%M:%S"), frac);
    WbStamp { at, text }
}

impl SellerData {
    /// Generates `history_days` days of trade ending at `now`.
    pub fn generate(profile: &Profile, seed: u64, now: DateTime<Utc>, history_days: i64) -> Self {
        Self::generate_nth(profile, seed, now, history_days, 0)
    }

    /// The same for the `nth` seller of a sandbox serving several: its articles get ids no other
    /// seller has, as WB's nmIds and Ozon's SKUs are unique across the marketplace (one deployment
    /// keeps one costs table for all its sellers, keyed by SKU).
    pub fn generate_nth(profile: &Profile, seed: u64, now: DateTime<Utc>, history_days: i64, nth: usize) -> Self {
        let nth = nth as i64;
        let mut rng = Rng::new(seed);
        let wb_skus: Vec<WbSku> = (0..profile.wb_skus)
            .map(|i| {
                let rubles = 300 + 100 * rng.below(40) as i64 + 90;
                WbSku {
                    nm_id: 100_000_000 + nth * 10_000_000 + (i as i64) * 7919,
                    article: format!("WB-ART-{i:03}"),
                    barcode: format!("20407051{i:05}"),
                    brand: BRANDS[i % BRANDS.len()],
                    subject: SUBJECTS[i % SUBJECTS.len()],
                    total_price_kop: rubles * 100,
                    discount_percent: [10, 25, 33, 40, 47][i % 5],
                }
            })
            .collect();
        let ozon_skus: Vec<OzonSku> = (0..profile.ozon_skus)
            .map(|i| {
                let rubles = 250 + 50 * rng.below(60) as i64;
                let kopecks = if i % 2 == 0 { 0 } else { 50 + rng.below(2) as i64 * 49 };
                OzonSku {
                    sku: 1_500_000_000 + nth * 100_000_000 + (i as i64) * 104_729,
                    offer_id: format!("OZ-{i:03}"),
                    name: format!("Товар №{i}"),
                    price_kop: rubles * 100 + kopecks,
                    price_style: (i % 4) as u8,
                }
            })
            .collect();

        let now_msk = msk_naive(now);
        let retention_start = now_msk - Duration::days(WB_RETENTION_DAYS);
        let first_day = now_msk.date() - Duration::days(history_days);

        let mut wb_orders = Vec::new();
        let mut wb_sales = Vec::new();
        let mut wb_sale_facts = Vec::new();
        let mut ozon_postings = Vec::new();
        let mut day = first_day;
        while day <= now_msk.date() {
            // One generator per day keeps a day's facts independent of the history length.
            let mut rng = Rng::new(seed ^ (day.num_days_from_ce() as u64).wrapping_mul(0x1000_0001));
            let weekly = [1.0, 0.95, 0.9, 1.0, 1.1, 1.25, 1.2][day.weekday().num_days_from_monday() as usize];
            let n_wb = (f64::from(profile.wb_orders_per_day) * weekly * (0.8 + rng.below(40) as f64 / 100.0)) as u32;
            for k in 0..n_wb {
                let sku = rng.below(profile.wb_skus as u64) as usize;
                let secs = rng.below(86_400) as i64;
                let date = day.and_hms_opt(0, 0, 0).unwrap() + Duration::seconds(secs);
                if date > now_msk {
                    continue;
                }
                let s = &wb_skus[sku];
                let pwd = s.total_price_kop * (100 - s.discount_percent) / 100;
                let spp = [0, 5, 12, 19, 25][(k as usize + sku) % 5];
                let finished = (pwd * (100 - spp) / 100) / 100 * 100;
                let srid = format!("{}{:05}.{}.0", day.num_days_from_ce(), k, sku % 3);
                let g_number = format!("9120672344{:010}", rng.below(10_000_000_000));
                let warehouse = WAREHOUSES[rng.below(4) as usize];
                let region = REGIONS[rng.below(4) as usize];
                let created = tick_after(date);
                let cancelled = rng.chance(profile.cancel_rate);
                let cancel_at = date + Duration::minutes(30 + rng.below(47 * 60) as i64);
                let sale_at = date + Duration::hours(20 + rng.below(7 * 24) as i64);
                let returned = rng.chance(profile.return_rate);
                let return_at = sale_at + Duration::hours(24 + rng.below(13 * 24) as i64);
                let negative = rng.chance(0.5);
                if created.at > now_msk {
                    continue; // not refreshed into statistics yet
                }
                let mut order = WbOrder {
                    srid: srid.clone(),
                    sku,
                    date,
                    last_change: created,
                    cancel_date: None,
                    price_with_disc_kop: pwd,
                    finished_price_kop: finished,
                    spp,
                    g_number: g_number.clone(),
                    income_id: 16_000_000 + sku as i64,
                    warehouse,
                    region,
                };
                if cancelled {
                    let stamp = tick_after(cancel_at);
                    if stamp.at <= now_msk {
                        order.cancel_date = Some(cancel_at);
                        order.last_change = stamp;
                    }
                }
                let sale = |date: NaiveDateTime, is_return: bool| WbSale {
                    // Unique per order (its day and index), as WB's saleID is per operation.
                    sale_id: format!("{}{}{:05}", if is_return { 'R' } else { 'S' }, day.num_days_from_ce(), k),
                    srid: srid.clone(),
                    sku,
                    date,
                    last_change: tick_after(date),
                    is_return,
                    negative_money: is_return && negative,
                    price_with_disc_kop: pwd,
                    finished_price_kop: finished,
                    for_pay_kop: pwd * 76 / 100,
                    spp,
                    g_number: g_number.clone(),
                    warehouse,
                    region,
                };
                if !cancelled {
                    let s = sale(sale_at, false);
                    if s.last_change.at <= now_msk {
                        let r = sale(return_at, true);
                        let r_visible = returned && r.last_change.at <= now_msk;
                        if s.date >= retention_start {
                            wb_sales.push(s.clone());
                        }
                        wb_sale_facts.push(s);
                        if r_visible {
                            if r.date >= retention_start {
                                wb_sales.push(r.clone());
                            }
                            wb_sale_facts.push(r);
                        }
                    }
                }
                if order.date >= retention_start {
                    wb_orders.push(order);
                }
            }

            let n_oz =
                (f64::from(profile.ozon_postings_per_day) * weekly * (0.8 + rng.below(40) as f64 / 100.0)) as u32;
            for k in 0..n_oz {
                // Day d in UTC for Ozon (its own clock); the first posting of every month's first
                // day sits exactly on midnight so that inclusive window bounds repeat it.
                let secs = if k == 0 && day.day() == 1 { 0 } else { rng.below(86_400) as i64 };
                let millis = rng.below(1000) as i64;
                let at = Utc.from_utc_datetime(&day.and_hms_opt(0, 0, 0).unwrap())
                    + Duration::seconds(secs)
                    + Duration::milliseconds(if secs == 0 { 0 } else { millis });
                if at > now {
                    continue;
                }
                let schema = if rng.chance(0.6) { OzonSchema::Fbo } else { OzonSchema::Fbs };
                let n_products = 1 + usize::from(rng.chance(0.25));
                let mut products: Vec<OzonProduct> = Vec::with_capacity(n_products);
                for _ in 0..n_products {
                    let sku = rng.below(profile.ozon_skus as u64) as usize;
                    if products.iter().any(|p| p.sku == sku) {
                        continue;
                    }
                    products.push(OzonProduct {
                        sku,
                        quantity: 1 + i64::from(rng.chance(0.2)) + i64::from(rng.chance(0.05)),
                    });
                }
                let cancelled = rng.chance(profile.cancel_rate);
                let cancel_at = at + Duration::minutes(10 + rng.below(2 * 24 * 60) as i64);
                let ship_at = at + Duration::hours(6 + rng.below(36) as i64);
                let deliver_at = ship_at + Duration::hours(24 + rng.below(6 * 24) as i64);
                let (status, substatus) = if cancelled && cancel_at <= now {
                    ("cancelled", "posting_canceled")
                } else if cancelled || ship_at > now {
                    match schema {
                        OzonSchema::Fbo => ("awaiting_deliver", "posting_created"),
                        OzonSchema::Fbs => ("awaiting_packaging", "posting_created"),
                    }
                } else if deliver_at <= now {
                    ("delivered", "posting_delivered")
                } else {
                    ("delivering", "posting_in_pickup_point")
                };
                let order_id = 30_000_000_000 + i64::from(day.num_days_from_ce()) * 10_000 + i64::from(k);
                ozon_postings.push(OzonPosting {
                    id: 0,
                    posting_number: format!("{}-{:04}-1", order_id / 10_000, order_id % 10_000),
                    order_id,
                    schema,
                    in_process_at: at,
                    time_style: (rng.below(3)) as u8,
                    status,
                    substatus,
                    delivered_at: (status == "delivered").then_some(deliver_at),
                    products,
                });
            }
            day += Duration::days(1);
        }
        wb_orders.sort_by(|a, b| (&a.last_change, &a.srid).cmp(&(&b.last_change, &b.srid)));
        wb_sales.sort_by(|a, b| (&a.last_change, &a.sale_id).cmp(&(&b.last_change, &b.sale_id)));
        ozon_postings.sort_by(|a, b| (a.in_process_at, &a.posting_number).cmp(&(b.in_process_at, &b.posting_number)));
        for (i, p) in ozon_postings.iter_mut().enumerate() {
            p.id = i as u64 + 1;
        }
        wb_sale_facts.sort_by(|a, b| (a.date, &a.sale_id).cmp(&(b.date, &b.sale_id)));
        let mut data = SellerData {
            now,
            wb_sale_facts,
            wb_skus,
            ozon_skus,
            wb_orders,
            wb_sales,
            ozon_postings,
            finance: Default::default(),
            wb_stocks: Vec::new(),
        };
        data.finance = super::finance::Finance::generate(&data, seed, first_day);
        data.wb_stocks = super::wb_stocks::generate(&data, seed);
        data
    }
    pub fn msk_to_utc(t: NaiveDateTime) -> DateTime<Utc> {
        msk_to_utc(t)
    }
}
