//! `tracing`: a job's panic is recorded as an error-level event naming the panic message,
//! for `spawn` and for `execute`; so is a panic in `on_thread_stop`. A job runs inside a
//! trace-level span `job` carrying its name.
//!
//! Workers are other threads, so the capturing subscriber is the process-wide default; this
//! binary holds only tests that are happy to share it.

mod common;

use std::fmt::{self, Write as _};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, Once};

use common::{EXPECTED, eventually, with_timeout};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};
use weft::ThreadPool;

/// Every event seen so far: its level and its fields, rendered as `name=value` pairs.
static EVENTS: Mutex<Vec<(Level, String)>> = Mutex::new(Vec::new());

/// Every span opened so far: its name and its fields, rendered as for events.
static SPANS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// The tests of this binary run one at a time, so each sees only its own events.
static SERIAL: Mutex<()> = Mutex::new(());

fn error_count() -> usize {
    EVENTS
        .lock()
        .unwrap()
        .iter()
        .filter(|(level, _)| *level == Level::ERROR)
        .count()
}

/// A minimal subscriber that keeps every event and every new span's fields.
struct Capture {
    next_span: AtomicU64,
}

struct Fields(String);

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        let _ = write!(self.0, "{}={} ", field.name(), value);
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let _ = write!(self.0, "{}={:?} ", field.name(), value);
    }
}

impl Subscriber for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }

    fn new_span(&self, attributes: &Attributes<'_>) -> Id {
        let mut fields = Fields(format!("{}: ", attributes.metadata().name()));
        attributes.record(&mut fields);
        SPANS.lock().unwrap().push(fields.0);
        Id::from_u64(self.next_span.fetch_add(1, Ordering::Relaxed) + 1)
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut fields = Fields(String::new());
        event.record(&mut fields);
        EVENTS
            .lock()
            .unwrap()
            .push((*event.metadata().level(), fields.0));
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

fn capture_events() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        tracing::subscriber::set_global_default(Capture {
            next_span: AtomicU64::new(0),
        })
        .expect("no other global subscriber in this test binary");
    });
}

fn error_events_mentioning(text: &str) -> Vec<String> {
    EVENTS
        .lock()
        .unwrap()
        .iter()
        .filter(|(level, fields)| *level == Level::ERROR && fields.contains(text))
        .map(|(_, fields)| fields.clone())
        .collect()
}

#[test]
fn a_job_panic_is_recorded_as_an_error_event_with_its_message() {
    capture_events();
    with_timeout(|| {
        let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
        let pool = ThreadPool::new(1).unwrap();
        let error = pool
            .spawn(|| panic!("traced spawn boom {EXPECTED}"))
            .join()
            .unwrap_err();
        assert!(error.is_panic());
        // The event is emitted before the handle resolves.
        let events = error_events_mentioning("traced spawn boom");
        assert_eq!(events.len(), 1, "one error event for one panic: {events:?}");
    });
}

#[test]
fn an_execute_panic_is_recorded_as_an_error_event_with_its_message() {
    capture_events();
    with_timeout(|| {
        let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
        let pool = ThreadPool::new(1).unwrap();
        pool.execute(|| panic!("traced execute boom {EXPECTED}"));
        eventually("the execute panic is traced", || {
            !error_events_mentioning("traced execute boom").is_empty()
        });
    });
}

#[test]
fn a_panic_with_a_non_string_payload_is_still_recorded() {
    capture_events();
    with_timeout(|| {
        let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
        let pool = ThreadPool::new(1).unwrap();
        let before = error_count();
        pool.spawn(|| std::panic::panic_any(17u8))
            .join()
            .unwrap_err();
        assert_eq!(
            error_count(),
            before + 1,
            "one error event for a non-string panic"
        );
    });
}

#[test]
fn a_panicking_on_thread_stop_is_an_error_event_naming_the_worker_and_the_message() {
    capture_events();
    with_timeout(|| {
        let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
        let pool = ThreadPool::builder()
            .num_threads(2)
            .on_thread_stop(|index| {
                if index == 1 {
                    panic!("traced stop hook boom {EXPECTED}");
                }
            })
            .build()
            .unwrap();
        pool.shutdown(); // returns despite the panic
        let events = error_events_mentioning("traced stop hook boom");
        assert_eq!(events.len(), 1, "one error event: {events:?}");
        assert!(
            events[0].contains("worker=1"),
            "names the worker: {events:?}"
        );
        assert!(
            events[0].contains("on_thread_stop"),
            "names the hook: {events:?}"
        );
    });
}

#[test]
fn a_job_runs_in_a_job_span_that_carries_its_name() {
    capture_events();
    with_timeout(|| {
        let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
        let pool = ThreadPool::new(1).unwrap();
        assert_eq!(
            pool.job().name("span-probe-7").spawn(|| 7).join().unwrap(),
            7
        );
        pool.spawn(|| ()).join().unwrap();
        let spans = SPANS.lock().unwrap();
        let named: Vec<_> = spans
            .iter()
            .filter(|span| span.contains("span-probe-7"))
            .collect();
        assert_eq!(named.len(), 1, "one span for the named job: {spans:?}");
        assert!(
            named[0].starts_with("job: "),
            "the span is `job`: {named:?}"
        );
        assert!(
            spans
                .iter()
                .filter(|span| span.starts_with("job: "))
                .count()
                >= 2,
            "an unnamed job has its span too: {spans:?}"
        );
    });
}
