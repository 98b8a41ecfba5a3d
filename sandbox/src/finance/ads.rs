//! WB ad campaigns and their statistics, paid from the ad balance, the seller's account or WB's
//! bonuses.

use chrono::{Duration, NaiveDate};

use crate::data::SellerData;

use super::*;

/// WB ad campaigns: one never started (status 4: no statistics), the rest ran for a while, paid
/// from the ad balance, the seller's account or WB's bonuses.
pub(super) fn ads(
    d: &SellerData,
    seed: u64,
    first_day: NaiveDate,
    last_closed: NaiveDate,
) -> (Vec<AdCampaign>, Vec<AdStat>) {
    let n_campaigns = (d.wb_skus.len() / 8).max(3);
    let history = (last_closed - first_day).num_days().max(1);
    let mut campaigns = Vec::new();
    for c in 0..n_campaigns {
        let mut r = h(&[seed, 5, c as u64]);
        let start = first_day + Duration::days(r.below(history as u64 / 2) as i64);
        let end = (start + Duration::days(60 + r.below(history as u64) as i64)).min(last_closed);
        let status = match c % 4 {
            0 => 4,
            1 => 7,
            2 => 11,
            _ => 9,
        };
        let payment = match c % 4 {
            1 => AdPayment::Account,
            2 => AdPayment::Bonuses,
            _ => AdPayment::Balance,
        };
        let nms: Vec<usize> = (0..2 + r.below(3) as usize)
            .map(|k| (c * 5 + k * 3) % d.wb_skus.len())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        campaigns.push(AdCampaign {
            advert_id: 20_000_000 + c as i64 * 37,
            status,
            name: format!("Кампания {c}"),
            change_time: crate::data::SellerData::msk_to_utc(end.and_hms_opt(12, 12, 52).expect("time")),
            nms,
            first_day: start,
            last_day: end,
            payment,
        });
    }
    let mut ad_stats = Vec::new();
    for c in campaigns.iter().filter(|c| c.status != 4) {
        let mut day = c.first_day;
        while day <= c.last_day {
            for &sku in &c.nms {
                let mut r = h(&[seed, 6, c.advert_id as u64, day_no(day), sku as u64]);
                let sum = 5000 + r.below(35_000) as i64;
                let site = sum * 40 / 100;
                for (app, part) in [(1, site), (32, sum - site)] {
                    ad_stats.push(AdStat {
                        advert_id: c.advert_id,
                        date: day,
                        app_type: app,
                        sku,
                        views: 50 + r.below(1000) as i64,
                        clicks: 1 + r.below(30) as i64,
                        orders: r.below(3) as i64,
                        sum: part,
                        sum_price: r.below(3) as i64 * d.wb_skus[sku].total_price_kop / 2,
                    });
                }
            }
            day += Duration::days(1);
        }
    }
    ad_stats.sort_by_key(|s| (s.date, s.advert_id, s.app_type, s.sku));
    (campaigns, ad_stats)
}
