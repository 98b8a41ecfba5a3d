//! Bad answers from the marketplaces, as a catalogue (issue #14): a proxy in front of the sandbox
//! answers one endpoint with a fault (a status, an odd header, a body cut off or of another
//! shape) for as long as the fault is set. Each case: the run fails with a message naming what
//! went wrong and what to do, leaves no half-written file, and once the fault is gone the same
//! backfill completes to the sandbox's ground truth.

use crate::common::proxy::{Answer, Proxy};
use crate::common::*;

struct Case {
    name: &'static str,
    path: &'static str,
    answer: Answer,
    /// What the run's error must say, all of it.
    says: &'static [&'static str],
}

const WB_ORDERS: &str = "/api/v1/supplier/orders";
const WB_FINANCE: &str = "/api/finance/v1/sales-reports/detailed";
const OZON_FBO: &str = "/v3/posting/fbo/list";
const OZON_ACCRUALS: &str = "/v1/finance/accrual/by-day";
const OZON_CASH_FLOW: &str = "/v1/finance/cash-flow-statement/list";
const JSON: &[(&str, &str)] = &[("content-type", "application/json")];
const HTML: &[(&str, &str)] = &[("content-type", "text/html")];

const CASES: &[Case] = &[
    Case {
        name: "WB: an expired token",
        path: WB_ORDERS,
        answer: Answer::Fixed(401, JSON, r#"{"title":"unauthorized","detail":"token expired","status":401}"#),
        says: &["HTTP 401", "token expired", "Personal token", "MPETL_ACCOUNTS__DEMO__WB__TOKEN"],
    },
    Case {
        name: "WB: a firewall's HTML page with 403",
        path: WB_ORDERS,
        answer: Answer::Fixed(
            403,
            HTML,
            "<html><head><title>403 Forbidden</title></head><body>Access denied</body></html>",
        ),
        says: &["HTTP 403", "403 Forbidden", "Fix"],
    },
    Case {
        name: "WB: a retired endpoint",
        path: WB_FINANCE,
        answer: Answer::Fixed(404, &[], "404 page not found"),
        says: &["HTTP 404", "endpoints.", "retired"],
    },
    Case {
        name: "WB: a conflict",
        path: WB_FINANCE,
        answer: Answer::Fixed(409, JSON, r#"{"title":"conflict","detail":"report is being generated","status":409}"#),
        says: &["HTTP 409", "report is being generated", "run the same command again later"],
    },
    Case {
        name: "WB: a 500 that does not pass",
        path: WB_ORDERS,
        answer: Answer::Fixed(500, JSON, r#"{"title":"internal server error","status":500}"#),
        says: &["HTTP 500", "gave up after 6 attempts", "done chunks are kept"],
    },
    Case {
        name: "WB: nginx's 502 page",
        path: WB_FINANCE,
        answer: Answer::Fixed(
            502,
            HTML,
            "<html><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>",
        ),
        says: &["HTTP 502", "Bad Gateway", "gave up after 6 attempts"],
    },
    Case {
        name: "WB: a gateway timeout with an empty body",
        path: WB_ORDERS,
        answer: Answer::Fixed(504, &[], ""),
        says: &["HTTP 504", "gave up after 6 attempts"],
    },
    Case {
        name: "WB: 429 whose X-Ratelimit-Retry is not a number",
        path: WB_ORDERS,
        answer: Answer::Fixed(429, &[("x-ratelimit-retry", "soon")], r#"{"title":"too many requests","status":429}"#),
        says: &["HTTP 429", "another process may be using the same seller's limit", "gave up after 6 attempts"],
    },
    Case {
        name: "WB: 429 with Retry-After as an HTTP date",
        path: WB_FINANCE,
        answer: Answer::Fixed(429, &[("retry-after", "Wed, 21 Oct 2026 07:28:00 GMT")], "{}"),
        says: &["HTTP 429", "REDIS_URL", "gave up after 6 attempts"],
    },
    Case {
        name: "WB: a body cut off mid-way",
        path: WB_ORDERS,
        answer: Answer::CutInHalf,
        says: &["cut off", "nothing from it was stored", "gave up after 6 attempts"],
    },
    Case {
        name: "WB: an HTML page served with 200",
        path: WB_FINANCE,
        answer: Answer::Fixed(200, HTML, "<!DOCTYPE html><html><body>Technical works</body></html>"),
        says: &["not the expected JSON", "gave up after 6 attempts"],
    },
    Case {
        name: "WB: a number sent as a word",
        path: WB_ORDERS,
        answer: Answer::Fixed(
            200,
            JSON,
            r#"[{"date":"2026-06-01T10:00:00","lastChangeDate":"2026-06-01T10:00:00","srid":"s1","nmId":"twelve","totalPrice":100,"finishedPrice":90,"priceWithDisc":95,"isCancel":false}]"#,
        ),
        says: &["another shape", "field [0].nmId", "not asked again", "Fix"],
    },
    Case {
        name: "WB: null where a date must be",
        path: WB_ORDERS,
        answer: Answer::Fixed(
            200,
            JSON,
            r#"[{"date":null,"lastChangeDate":"2026-06-01T10:00:00","srid":"s1","nmId":12,"totalPrice":100,"finishedPrice":90,"priceWithDisc":95,"isCancel":false}]"#,
        ),
        says: &["another shape", "field [0].date", "null"],
    },
    Case {
        name: "WB: an amount too large for money",
        path: WB_ORDERS,
        answer: Answer::Fixed(
            200,
            JSON,
            r#"[{"date":"2026-06-01T10:00:00","lastChangeDate":"2026-06-01T10:00:00","srid":"s1","nmId":12,"totalPrice":1e30,"finishedPrice":90,"priceWithDisc":95,"isCancel":false}]"#,
        ),
        says: &["another shape", "field [0].totalPrice", "'1e+30' is not a decimal number"],
    },
    Case {
        name: "WB: an object where a list must be",
        path: WB_FINANCE,
        answer: Answer::Fixed(200, JSON, r#"{"data":[]}"#),
        says: &["another shape", "expected a sequence"],
    },
    Case {
        name: "Ozon: a wrong Api-Key (404, code 5)",
        path: OZON_FBO,
        answer: Answer::Fixed(
            404,
            JSON,
            r#"{"code":5,"message":"Invalid Api-Key, please contact support","details":[]}"#,
        ),
        says: &["HTTP 404", "Invalid Api-Key", "MPETL_ACCOUNTS__DEMO__OZON__API_KEY"],
    },
    Case {
        name: "Ozon: a key without the role",
        path: OZON_ACCRUALS,
        answer: Answer::Fixed(
            403,
            JSON,
            r#"{"code":7,"message":"Api-key is deactivated or has no access","details":[]}"#,
        ),
        says: &["HTTP 403", "role"],
    },
    Case {
        name: "Ozon: an object where the postings must be a list",
        path: OZON_FBO,
        answer: Answer::Fixed(200, JSON, r#"{"postings":{"0":{}},"has_next":false}"#),
        says: &["another shape", "field postings", "expected a sequence", "not asked again"],
    },
    Case {
        name: "Ozon: an empty object for a posting page",
        path: OZON_FBO,
        answer: Answer::Fixed(200, JSON, "{}"),
        says: &["another shape", "field (top level)", "missing field `postings`"],
    },
    Case {
        name: "Ozon: no result at all",
        path: OZON_CASH_FLOW,
        answer: Answer::Fixed(200, JSON, "{}"),
        says: &["another shape", "missing field `result`"],
    },
    Case {
        name: "Ozon: a request refused as invalid",
        path: OZON_CASH_FLOW,
        answer: Answer::Fixed(400, JSON, r#"{"code":3,"message":"invalid period","details":[]}"#),
        says: &["HTTP 400", "invalid period", "API may have changed"],
    },
    Case {
        name: "Ozon: 429 with a negative Retry-After",
        path: OZON_ACCRUALS,
        answer: Answer::Fixed(
            429,
            &[("retry-after", "-1")],
            r#"{"code":8,"message":"You have reached request rate limit per second","details":[]}"#,
        ),
        says: &["HTTP 429", "rate limit", "gave up after 6 attempts"],
    },
    Case {
        name: "Ozon: a 503 whose body is cut",
        path: OZON_FBO,
        answer: Answer::Fixed(503, JSON, r#"{"code":14,"message":"unavail"#),
        says: &["HTTP 503", "gave up after 6 attempts"],
    },
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_bad_answer_fails_clearly_leaves_nothing_half_written_and_the_next_run_completes() {
    let period = last_days(3);
    for case in CASES {
        let mut h = harness(small(80_000), |_| {}).await;
        let proxy = Proxy::start(&h.sandbox.base_url).await;
        proxy.set_fault(Some((case.path, case.answer)));
        let url = proxy.url.clone();
        let e = &mut h.cfg.endpoints;
        (e.wb_statistics, e.wb_finance, e.wb_advert, e.wb_content, e.ozon) =
            (url.clone(), url.clone(), url.clone(), url.clone(), url);

        let req = request(period);
        let run = tokio::time::timeout(std::time::Duration::from_secs(60), h.backfill(&req));
        let err = run.await.unwrap_or_else(|_| panic!("{}: the run hangs", case.name));
        let err = err.expect_err(case.name).to_string();
        for s in case.says {
            assert!(err.contains(s), "{}: the error does not say {s:?}: {}", case.name, err.replace('\n', " | "));
        }
        assert!(!err.contains(mpetl_sandbox::WB_TOKEN) && !err.contains(mpetl_sandbox::OZON_API_KEY), "{err}");
        let left = half_written(&h.cfg.data_dir);
        assert!(left.is_empty(), "{}: {left:?}", case.name);

        proxy.set_fault(None);
        h.backfill(&request(period)).await.unwrap_or_else(|e| panic!("{}: the next run: {e}", case.name));
        assert_matches_truth(&h.daily(&period), &h.truth(&period).await);
    }
}
