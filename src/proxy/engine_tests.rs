//! The engine under a fake clock: `now` is moved by hand, nothing sleeps.

use super::*;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn imp(loss: f64, delay: u64, jitter: u64, dup: f64, reorder: f64) -> Impairment {
    Impairment {
        loss,
        delay: ms(delay),
        jitter: ms(jitter),
        dup,
        reorder,
    }
}

/// Sends `n` datagrams up, one per millisecond, and collects what leaves, with the time it
/// left, by stepping the clock to each wake-up.
fn run(engine: &mut Engine<u32>, n: u32) -> Vec<(Duration, Out<u32>)> {
    let mut out = Vec::new();
    let mut now = Duration::ZERO;
    for i in 0..n {
        now = ms(u64::from(i));
        collect(engine, now, &mut out);
        let _ = engine.receive(now, Dir::Up, i);
        collect(engine, now, &mut out);
    }
    while let Some(t) = engine.next_wakeup() {
        now = now.max(t);
        collect(engine, now, &mut out);
    }
    out
}

fn collect(engine: &mut Engine<u32>, now: Duration, out: &mut Vec<(Duration, Out<u32>)>) {
    while let Some(o) = engine.poll(now) {
        out.push((now, o));
    }
}

fn dropped(seed: u64, loss: f64) -> Vec<u32> {
    let mut e = Engine::new(Settings::both(imp(loss, 0, 0, 0.0, 0.0)), seed);
    (0..1000)
        .filter(|&i| matches!(e.receive(ms(0), Dir::Up, i), Verdict::Dropped(..)))
        .collect()
}

#[test]
fn same_seed_same_drops_other_seed_others() {
    let a = dropped(7, 0.1);
    assert_eq!(a, dropped(7, 0.1));
    assert_ne!(a, dropped(8, 0.1));
    // About 10%, and raising the loss only adds drops.
    assert!((60..140).contains(&a.len()), "{} dropped", a.len());
    let more = dropped(7, 0.3);
    assert!(a.iter().all(|i| more.contains(i)));
}

#[test]
fn no_impairment_passes_everything_at_once_in_order() {
    let mut e = Engine::new(Settings::default(), 1);
    let out = run(&mut e, 100);
    let items: Vec<u32> = out.iter().map(|(_, o)| o.item).collect();
    assert_eq!(items, (0..100).collect::<Vec<_>>());
    assert!(out.iter().all(|(t, o)| *t == o.arrived));
    let s = e.stats(Dir::Up);
    assert_eq!(
        (s.received, s.forwarded, s.dropped, s.delayed, s.queued),
        (100, 100, 0, 0, 0)
    );
}

#[test]
fn delay_is_exact_and_keeps_order_under_jitter() {
    let mut e = Engine::new(Settings::both(imp(0.0, 20, 0, 0.0, 0.0)), 1);
    let out = run(&mut e, 10);
    for (t, o) in &out {
        assert_eq!(*t, o.arrived + ms(20));
    }
    let mut e = Engine::new(Settings::both(imp(0.0, 20, 15, 0.0, 0.0)), 1);
    let out = run(&mut e, 500);
    let items: Vec<u32> = out.iter().map(|(_, o)| o.item).collect();
    assert_eq!(items, (0..500).collect::<Vec<_>>(), "jitter alone reorders");
    // Within delay ± jitter, except where waiting behind an earlier one.
    let mut last = Duration::ZERO;
    for (t, o) in &out {
        let waited = *t - o.arrived;
        assert!(
            waited >= ms(5) && (waited <= ms(35) || *t == last),
            "{waited:?}"
        );
        last = *t;
    }
    let s = e.stats(Dir::Up);
    assert_eq!((s.delayed, s.queued), (500, 0));
}

#[test]
fn stats_add_up_under_everything() {
    let mut e = Engine::new(Settings::both(imp(0.2, 10, 8, 0.1, 0.1)), 42);
    let out = run(&mut e, 2000);
    let s = e.stats(Dir::Up);
    assert_eq!(s.received, 2000);
    assert_eq!(s.received, s.forwarded + s.dropped);
    assert_eq!(out.len() as u64, s.forwarded + s.duplicated);
    assert_eq!(
        out.iter().filter(|(_, o)| o.copy).count() as u64,
        s.duplicated
    );
    assert_eq!(
        out.iter().filter(|(_, o)| o.reordered).count() as u64,
        s.reordered
    );
    assert!(
        s.dropped > 300 && s.duplicated > 100 && s.reordered > 100,
        "{s:?}"
    );
    assert_eq!(s.queued, 0);
    assert_eq!(e.stats(Dir::Down), DirStats::default());
}

#[test]
fn a_reordered_datagram_leaves_right_after_the_next() {
    let mut e = Engine::new(Settings::both(imp(0.0, 0, 0, 0.0, 0.3)), 3);
    let out = run(&mut e, 200);
    let items: Vec<u32> = out.iter().map(|(_, o)| o.item).collect();
    let mut sorted = items.clone();
    sorted.sort();
    assert_eq!(sorted, (0..200).collect::<Vec<_>>(), "nothing lost");
    for (i, (_, o)) in out.iter().enumerate() {
        if o.reordered {
            // Swapped with the one that came after it.
            assert_eq!(out[i - 1].1.item, o.item + 1, "{items:?}");
        }
    }
    assert!(e.stats(Dir::Up).reordered > 20);
}

#[test]
fn a_held_datagram_alone_leaves_after_the_wait() {
    let mut e = Engine::new(Settings::both(imp(0.0, 0, 0, 0.0, 1.0)), 3);
    assert_eq!(e.receive(ms(0), Dir::Up, 1), Verdict::Forwarded);
    assert_eq!(e.poll(ms(0)), None);
    assert_eq!(e.next_wakeup(), Some(REORDER_WAIT));
    assert_eq!(e.poll(REORDER_WAIT - ms(1)), None);
    let o = e.poll(REORDER_WAIT).expect("released after the wait");
    assert_eq!((o.item, o.reordered), (1, false));
    let s = e.stats(Dir::Up);
    assert_eq!((s.reordered, s.delayed, s.queued), (0, 0, 0));
}

#[test]
fn duplicates_follow_their_original() {
    let mut e = Engine::new(Settings::both(imp(0.0, 0, 0, 1.0, 0.0)), 5);
    let out = run(&mut e, 3);
    let items: Vec<(u32, bool)> = out.iter().map(|(_, o)| (o.item, o.copy)).collect();
    assert_eq!(
        items,
        [
            (0, false),
            (0, true),
            (1, false),
            (1, true),
            (2, false),
            (2, true)
        ]
    );
    assert_eq!(e.stats(Dir::Up).duplicated, 3);
}

#[test]
fn directions_are_independent() {
    let settings = Settings {
        up: imp(1.0, 0, 0, 0.0, 0.0),
        down: imp(0.0, 5, 0, 0.0, 0.0),
    };
    let mut e = Engine::new(settings, 9);
    assert!(matches!(
        e.receive(ms(0), Dir::Up, 1),
        Verdict::Dropped(1, DropReason::Loss)
    ));
    assert_eq!(e.receive(ms(0), Dir::Down, 2), Verdict::Forwarded);
    assert_eq!(e.next_wakeup(), Some(ms(5)));
    let o = e.poll(ms(5)).unwrap();
    assert_eq!((o.dir, o.item), (Dir::Down, 2));
    assert_eq!(e.stats(Dir::Up).dropped, 1);
    assert_eq!(e.stats(Dir::Down).forwarded, 1);
    // The down stream does not depend on how many went up.
    let mut a = Engine::<u32>::new(Settings::both(imp(0.5, 0, 0, 0.0, 0.0)), 9);
    let mut b = Engine::<u32>::new(Settings::both(imp(0.5, 0, 0, 0.0, 0.0)), 9);
    for i in 0..50 {
        let _ = a.receive(ms(0), Dir::Up, i);
    }
    let fate = |e: &mut Engine<u32>| -> Vec<bool> {
        (0..50)
            .map(|i| e.receive(ms(0), Dir::Down, i) == Verdict::Forwarded)
            .collect()
    };
    assert_eq!(fate(&mut a), fate(&mut b));
}

#[test]
fn an_outage_and_a_recovery() {
    let mut e = Engine::new(Settings::default(), 1);
    assert_eq!(e.receive(ms(0), Dir::Up, 0), Verdict::Forwarded);
    e.set(Settings::both(imp(1.0, 0, 0, 0.0, 0.0)));
    for i in 1..=5 {
        assert!(matches!(
            e.receive(ms(1), Dir::Up, i),
            Verdict::Dropped(_, DropReason::Loss)
        ));
    }
    e.set(Settings::default());
    assert_eq!(e.receive(ms(2), Dir::Up, 6), Verdict::Forwarded);
    let s = e.stats(Dir::Up);
    assert_eq!((s.received, s.forwarded, s.dropped), (7, 2, 5));
}

#[test]
fn shutdown_delivers_every_delayed_datagram_in_order() {
    let mut e = Engine::new(Settings::both(imp(0.0, 1000, 200, 0.2, 0.2)), 11);
    for i in 0..100 {
        let _ = e.receive(ms(u64::from(i)), Dir::Up, i);
        let _ = e.receive(ms(u64::from(i)), Dir::Down, 1000 + i);
    }
    assert_eq!(e.poll(ms(100)), None, "all still delayed");
    let out = e.drain();
    let up = e.stats(Dir::Up);
    let down = e.stats(Dir::Down);
    assert_eq!(
        out.len() as u64,
        up.forwarded + up.duplicated + down.forwarded + down.duplicated
    );
    assert_eq!((up.queued, down.queued), (0, 0));
    let ups: Vec<u32> = out
        .iter()
        .filter(|o| o.dir == Dir::Up && !o.copy)
        .map(|o| o.item)
        .collect();
    // In order except for the reordered swaps.
    let mut sorted = ups.clone();
    sorted.sort();
    assert_eq!(sorted, (0..100).collect::<Vec<_>>());
    assert!(e.next_wakeup().is_none());
}

#[test]
fn a_full_queue_drops_and_says_so() {
    let mut e = Engine::new(Settings::both(imp(0.0, 1000, 0, 0.0, 0.0)), 1);
    for i in 0..MAX_QUEUED as u32 {
        assert_eq!(e.receive(ms(0), Dir::Up, i), Verdict::Forwarded);
    }
    assert_eq!(
        e.receive(ms(0), Dir::Up, 0),
        Verdict::Dropped(0, DropReason::QueueFull)
    );
    let s = e.stats(Dir::Up);
    assert_eq!(s.received, s.forwarded + s.dropped);
    assert_eq!(s.queued, MAX_QUEUED as u64);
}

#[test]
fn reseed_repeats_the_stream() {
    let mut e = Engine::<u32>::new(Settings::both(imp(0.5, 0, 0, 0.0, 0.0)), 4);
    let fates = |e: &mut Engine<u32>| -> Vec<bool> {
        (0..64)
            .map(|i| e.receive(ms(0), Dir::Up, i) == Verdict::Forwarded)
            .collect()
    };
    let first = fates(&mut e);
    e.reseed(4);
    assert_eq!(fates(&mut e), first);
    while e.poll(ms(0)).is_some() {}
}
