//! How many replicas the canary Deployment gets for a traffic weight (replica-ratio mode).

/// `max(1, ceil(total * weight / 100))`, capped at `total`: the canary always has at least
/// one pod to analyse, never more than the whole deployment. A weight of 0 or less (rolled
/// back) means no canary pods at all.
pub fn canary_replicas(total: i32, weight: i32) -> i32 {
    if weight <= 0 || total <= 0 {
        return 0;
    }
    let weight = i64::from(weight.min(100));
    let total64 = i64::from(total);
    let ceil = (total64 * weight + 99) / 100;
    // ceil <= total because weight <= 100, so the conversion back cannot fail.
    i32::try_from(ceil.max(1)).unwrap_or(total)
}

#[cfg(test)]
mod tests {
    use super::canary_replicas;

    #[test]
    fn ratio_rounds_up_and_keeps_one_pod() {
        let table = [
            (10, 10, 1),
            (10, 25, 3),
            (10, 50, 5),
            (10, 100, 10),
            (3, 10, 1),
            (3, 50, 2),
            (1, 10, 1),
            (7, 25, 2),
            (4, 1, 1),
            (10, 0, 0),
            (0, 50, 0),
            (5, 150, 5),
        ];
        for (total, weight, want) in table {
            assert_eq!(
                canary_replicas(total, weight),
                want,
                "total {total} weight {weight}"
            );
        }
    }
}
