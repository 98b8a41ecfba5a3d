//! The lake's upsert by key, step by step on one partition: every expected row below is worked
//! out by hand from the rule (latest version per key wins, a re-read identical row keeps its
//! stored lineage, rows stay ordered by event time then key), not read back from a first run.

use chrono::{DateTime, Utc};
use mpetl::dataset::Dataset;
use mpetl::lake::batch::{Batch, Lineage};
use mpetl::lake::{ALWAYS, Lake, UpsertStats, read_file};
use mpetl::money::Kopecks;
use mpetl::sources::ozon::models::OzonPostingRow;

fn at(hour: u32) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(&format!("2026-03-02T{hour:02}:00:00Z")).unwrap().with_timezone(&Utc)
}

fn posting(number: &str, hour: u32, status: &str) -> OzonPostingRow {
    OzonPostingRow {
        posting_number: number.into(),
        sku: 7,
        order_number: String::new(),
        order_id: None,
        status: status.into(),
        substatus: String::new(),
        in_process_at: at(hour),
        created_at: None,
        offer_id: "OZ-7".into(),
        name: String::new(),
        quantity: 1,
        price: Kopecks(65_000),
        currency: "RUB".into(),
    }
}

/// Upserts `rows` loaded at `hour` by chunk `chunk`; the stats.
fn put(lake: &Lake, rows: Vec<OzonPostingRow>, hour: u32, chunk: &str) -> UpsertStats {
    let lineage = Lineage { loaded_at: at(hour), chunk: chunk.into() };
    let parts = Batch::new(Dataset::OzonFbo, rows).into_partitions(&lineage).unwrap();
    assert_eq!(parts.len(), 1, "one month");
    let (month, df) = parts.into_iter().next().unwrap();
    assert_eq!(month, "2026-03");
    lake.upsert(Dataset::OzonFbo, "shop", &month, df, ALWAYS).unwrap()
}

/// The partition as (posting, status, chunk that stored it), in file order.
fn stored(lake: &Lake) -> Vec<(String, String, String)> {
    let df = read_file(&lake.partition_file(Dataset::OzonFbo, "shop", "2026-03")).unwrap();
    let text = |c: &str| -> Vec<String> {
        df.column(c).unwrap().str().unwrap().iter().map(|v| v.unwrap_or_default().to_string()).collect()
    };
    let (n, s, c) = (text("posting_number"), text("status"), text("_chunk"));
    (0..df.height()).map(|i| (n[i].clone(), s[i].clone(), c[i].clone())).collect()
}

fn row(n: &str, s: &str, c: &str) -> (String, String, String) {
    (n.into(), s.into(), c.into())
}

#[test]
fn appended_pages_re_reads_and_updates_keep_one_row_per_key_in_event_order() {
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::new(dir.path());

    // Two new keys: both stored, ordered by in_process_at (P2 at 10:00 before P1 at 11:00).
    let s = put(&lake, vec![posting("P1", 11, "delivering"), posting("P2", 10, "delivering")], 12, "first");
    assert_eq!((s.inserted, s.changed, s.rows_after), (2, 2, 2));
    assert_eq!(stored(&lake), [row("P2", "delivering", "first"), row("P1", "delivering", "first")]);

    // A page of keys the partition does not have (a backfill's next page): appended, the
    // stored rows untouched, P3 (09:00) first.
    let s = put(&lake, vec![posting("P3", 9, "delivering")], 13, "second");
    assert_eq!((s.inserted, s.changed, s.rows_after), (1, 1, 3));
    assert_eq!(
        stored(&lake),
        [row("P3", "delivering", "second"), row("P2", "delivering", "first"), row("P1", "delivering", "first")]
    );

    // P2 read again unchanged: nothing new, the file is not rewritten, P2 keeps its lineage.
    let file = lake.partition_file(Dataset::OzonFbo, "shop", "2026-03");
    let before = std::fs::metadata(&file).unwrap().modified().unwrap();
    let s = put(&lake, vec![posting("P2", 10, "delivering")], 14, "third");
    assert_eq!((s.partitions_written, s.inserted, s.changed, s.rows_after), (0, 0, 0, 3));
    assert_eq!(std::fs::metadata(&file).unwrap().modified().unwrap(), before);

    // P1 delivered since (a newer version), P3 unchanged, P4 new: P1 replaced, P3 kept as
    // stored (lineage "second"), P4 added last (12:00).
    let s = put(
        &lake,
        vec![posting("P1", 11, "delivered"), posting("P3", 9, "delivering"), posting("P4", 12, "delivering")],
        15,
        "fourth",
    );
    assert_eq!((s.partitions_written, s.inserted, s.changed, s.rows_after), (1, 1, 2, 4));
    assert_eq!(
        stored(&lake),
        [
            row("P3", "delivering", "second"),
            row("P2", "delivering", "first"),
            row("P1", "delivered", "fourth"),
            row("P4", "delivering", "fourth"),
        ]
    );

    // An older version of P4 arriving late (loaded before the stored one) does not win.
    let s = put(&lake, vec![posting("P4", 12, "cancelled")], 1, "late");
    assert_eq!((s.inserted, s.rows_after), (0, 4));
    assert_eq!(stored(&lake)[3], row("P4", "delivering", "fourth"));

    // A key the partition lacks, twice in one page (same version): one row, the later one.
    let s = put(&lake, vec![posting("P5", 13, "delivering"), posting("P5", 13, "delivered")], 16, "fifth");
    assert_eq!((s.inserted, s.rows_after), (1, 5));
    assert_eq!(stored(&lake)[4], row("P5", "delivered", "fifth"));
}

#[test]
fn a_page_across_months_splits_into_months_in_order_each_keeping_the_page_order() {
    let on = |number: &str, day: &str| {
        let mut p = posting(number, 0, "delivering");
        p.in_process_at = DateTime::parse_from_rfc3339(&format!("{day}T12:00:00Z")).unwrap().with_timezone(&Utc);
        p
    };
    let rows = vec![on("A", "2026-03-05"), on("B", "2026-02-10"), on("C", "2026-03-01"), on("D", "2026-02-01")];
    let lineage = Lineage { loaded_at: at(12), chunk: "page".into() };
    let parts = Batch::new(Dataset::OzonFbo, rows).into_partitions(&lineage).unwrap();
    let got: Vec<(String, Vec<String>)> = parts
        .iter()
        .map(|(month, df)| {
            let numbers = df.column("posting_number").unwrap().str().unwrap();
            (month.clone(), numbers.iter().map(|n| n.unwrap_or_default().to_string()).collect())
        })
        .collect();
    let want = |m: &str, n: [&str; 2]| (m.to_string(), n.map(String::from).to_vec());
    assert_eq!(got, [want("2026-02", ["B", "D"]), want("2026-03", ["A", "C"])]);
}
