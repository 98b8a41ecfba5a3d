//! Names in the lake's columns that more than one side must agree on: the source writing a
//! dataset and the metrics reading it both take them from here, so neither imports the other.

/// What a component of an accrual is; `metrics` reads money by these.
pub mod accrual_kind {
    /// What the buyer paid for the line; carries the line's quantity and direction.
    pub const SALE_PRICE: &str = "sale_price";
    pub const BONUS: &str = "bonus";
    pub const COINVESTMENT: &str = "coinvestment";
    pub const SALE_COMMISSION: &str = "sale_commission";
    /// A delivery service of a posting's product.
    pub const SERVICE: &str = "service";
    pub const ITEM_FEE: &str = "item_fee";
    pub const NON_ITEM_FEE: &str = "non_item_fee";
    pub const CONTAINER_FEE: &str = "container_fee";
    /// `total_amount` minus what the components add up to, when Ozon sends a total that its
    /// components do not explain (or a total with no components at all).
    pub const REMAINDER: &str = "remainder";
    /// The kinds whose category comes from the type name (the operation catalogue).
    pub const FEES: [&str; 4] = [SERVICE, ITEM_FEE, NON_ITEM_FEE, CONTAINER_FEE];
}

/// What a report header totals, named after the detail column each one sums; the header field
/// is `<name>_sum` in the lake. `bank_payment` is «Итого к оплате», what WB transfers: the
/// reconciliation computes it from the rows as the README's "How our payout matches WB's
/// report" says.
pub const REPORT_SUMS: [&str; 13] = [
    "retail_amount",
    "for_pay",
    "delivery_service",
    "paid_storage",
    "penalty",
    "deduction",
    "paid_acceptance",
    "additional_payment",
    "cashback_amount",
    "cashback_discount",
    "cashback_commission_change",
    "payment_schedule",
    "bank_payment",
];
