//! Work shared out among the cores: large sets of records are read and checked on every core,
//! while a small set stays on the calling thread.

/// `work` on each chunk of `items`, on up to one thread per core with at least `per_thread`
/// items each, and every result in the order of `items`. A panic in a worker is the caller's.
pub fn map_chunks<T, R, F>(items: &[T], per_thread: usize, work: F) -> Vec<R>
where
    T: Sync,
    R: Send,
    F: Fn(&[T]) -> Vec<R> + Sync,
{
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = cores.min(items.len() / per_thread.max(1) + 1);
    if threads == 1 {
        return work(items);
    }
    let chunk = items.len().div_ceil(threads).max(1);
    let work = &work;
    std::thread::scope(|scope| {
        let parts: Vec<_> = items
            .chunks(chunk)
            .map(|part| scope.spawn(move || work(part)))
            .collect();
        parts
            .into_iter()
            .flat_map(|part| {
                part.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_in_the_order_of_the_items_however_they_are_shared_out() {
        let items: Vec<u32> = (0..10_000).collect();
        for per_thread in [1, 100, 512, 20_000] {
            let got = map_chunks(&items, per_thread, |part| {
                part.iter().map(|n| n * 2).collect()
            });
            assert_eq!(got, items.iter().map(|n| n * 2).collect::<Vec<_>>());
        }
        assert!(map_chunks(&[] as &[u32], 100, |p| p.to_vec()).is_empty());
    }
}
