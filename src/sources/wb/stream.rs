//! The fetch loop of WB's statistics streams (orders, sales): pages by `lastChangeDate`, each
//! page upserted before the cursor moves past it.

use futures::future::BoxFuture;

use crate::config::{Account, Config};
use crate::pipeline::plan::{Chunk, PlanCx, PlanError, PlannedChunk};
use crate::pipeline::source::{Fetch, Need, Once};
use crate::state::ChunkRecord;
use chrono::Utc;

use super::WbClient;
use super::models::{OrderItem, SaleItem, StatsItem, WbOrderRow, WbSaleRow};
use crate::clock::parse_wb_naive;
use crate::dataset::Dataset;
use crate::lake::batch::{Batch, LakeRow};
use crate::pipeline::ChunkError;
use crate::pipeline::cx::{ChunkOutcome, FetchCx};
use crate::sources::SourceError;

/// Reads the stream from `date_from` page by page, as pass `pass_from` of the chunk's dataset.
pub async fn fetch(cx: &FetchCx<'_>, pass_from: &str, date_from: &str) -> Result<ChunkOutcome, ChunkError> {
    let client = super::WbClient::for_chunk(cx)?;
    let mut st = cx.stream()?;
    if st.pending_from.as_deref() != Some(pass_from) {
        st.pending_from = Some(pass_from.to_string());
    }
    cx.save_stream(&st)?;

    let mut out = ChunkOutcome::default();
    let mut from = date_from.to_string();
    loop {
        cx.check_stop()?;
        let (rows, last, n) = match cx.chunk.dataset {
            Dataset::WbOrders => page::<OrderItem, WbOrderRow>(cx, &client, &from).await?,
            Dataset::WbSales => page::<SaleItem, WbSaleRow>(cx, &client, &from).await?,
            other => unreachable!("{other} is not a WB statistics stream"),
        };
        out.requests += 1;
        let Some(last) = last else { break };
        out.rows += n as u64;
        let stored = cx.store(rows).await?;
        out.lake += stored.stats();
        st.cursor = Some(last.clone());
        cx.advance_stream(&st, &stored)?;
        cx.rows_stored(n as u64);
        let progressed = match (parse_wb_naive(&last), parse_wb_naive(&from)) {
            (Some(l), Some(f)) => l > f,
            _ => true,
        };
        if !progressed {
            // Every row of the page carries the dateFrom we sent: asking again returns the
            // same page. A short page means that was all; a full one means WB's cap cuts
            // rows that share one stamp, which no cursor can get past.
            if n as u64 >= u64::from(cx.fetch_config().wb_page_cap) {
                return Err(cx.source_error(SourceError::Stuck {
                    ctx: cx.ctx(cx.chunk.dataset),
                    detail: format!(
                        "{n} rows share lastChangeDate {last}, more than one page holds; paging cannot advance. Fix: raise fetch.wb_page_cap if WB's page is larger, or report it to WB's support"
                    ),
                }));
            }
            break;
        }
        from = last;
    }
    st.covered_from = st.pending_from.take();
    st.synced_at = Some(Utc::now());
    cx.save_stream(&st)?;
    Ok(out)
}

/// One page from `from`: its rows, the `lastChangeDate` of its last row (None: empty page) and
/// its length.
async fn page<T, R>(
    cx: &FetchCx<'_>,
    client: &WbClient,
    from: &str,
) -> Result<(Batch, Option<String>, usize), ChunkError>
where
    T: StatsItem,
    R: TryFrom<T, Error = String> + LakeRow,
{
    let items: Vec<T> = client.page(cx.chunk.dataset, from).await.map_err(|e| cx.source_error(e))?;
    let last = items.last().map(|i| i.last_change_date().to_string());
    let n = items.len();
    let rows = items
        .into_iter()
        .map(R::try_from)
        .collect::<Result<Vec<R>, String>>()
        .map_err(|e| cx.decode_error(cx.chunk.dataset, e))?;
    Ok((Batch::new(cx.chunk.dataset, rows), last, n))
}

/// WB orders or sales: one stream chunk per account reading every change since its cursor.
#[derive(Debug)]
pub struct Stream(pub Dataset);

impl Fetch for Stream {
    fn plan(&self, cx: &PlanCx<'_>, account: &Account) -> Result<Vec<PlannedChunk>, PlanError> {
        Ok(vec![cx.stream(self.0, account)?])
    }

    fn cost(&self, _: &Chunk, _: &Config, _: &mut Once) -> Vec<Need> {
        use super::client::{ORDERS_QUOTA, SALES_QUOTA};
        // One page if everything fits under WB's cap; one more per 80 000 rows.
        let (bucket, quota) = match self.0 {
            Dataset::WbOrders => ("wb_orders", ORDERS_QUOTA),
            _ => ("wb_sales", SALES_QUOTA),
        };
        vec![Need { bucket, quota, requests: 1 }]
    }

    fn fetch<'a>(
        &'a self,
        cx: &'a FetchCx<'a>,
        _: &'a mut ChunkRecord,
    ) -> BoxFuture<'a, Result<ChunkOutcome, ChunkError>> {
        Box::pin(async move {
            let (pass_from, date_from) = cx.stream_from()?;
            fetch(cx, pass_from, date_from).await
        })
    }
}
