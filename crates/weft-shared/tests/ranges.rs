//! Making views that do not fit is an error; indexing past the end is a panic that
//! names the index and the length.

use std::error::Error;

use weft_shared::*;

#[test]
fn new_on_a_length_that_is_not_a_multiple_is_an_error() {
    let buf = SharedBuffer::new(6);
    assert_eq!(
        Int32View::new(&buf).unwrap_err(),
        ViewError::LengthNotMultiple {
            buffer_len: 6,
            element_size: 4
        }
    );
    assert_eq!(Int16View::new(&buf).unwrap().len(), 3);
    assert_eq!(Uint8View::new(&buf).unwrap().len(), 6);
    assert!(Float64View::new(&buf).is_err());
}

#[test]
fn misaligned_offset_is_an_error() {
    let buf = SharedBuffer::new(16);
    assert_eq!(
        Int32View::with_range(&buf, 2, 1).unwrap_err(),
        ViewError::MisalignedOffset {
            byte_offset: 2,
            element_size: 4
        }
    );
    assert_eq!(
        BigInt64View::with_range(&buf, 4, 0).unwrap_err(),
        ViewError::MisalignedOffset {
            byte_offset: 4,
            element_size: 8
        }
    );
    assert_eq!(
        Uint16View::with_range(&buf, 3, 1).unwrap_err(),
        ViewError::MisalignedOffset {
            byte_offset: 3,
            element_size: 2
        }
    );
    // Bytes are never misaligned.
    assert!(Uint8View::with_range(&buf, 3, 1).is_ok());
}

#[test]
fn range_past_the_end_is_an_error() {
    let buf = SharedBuffer::new(16);
    assert_eq!(
        Int32View::with_range(&buf, 8, 3).unwrap_err(),
        ViewError::OutOfBounds {
            byte_offset: 8,
            len: 3,
            element_size: 4,
            buffer_len: 16
        }
    );
    assert!(Int32View::with_range(&buf, 8, 2).is_ok());
    assert!(Uint8View::with_range(&buf, 0, 17).is_err());
    assert!(Float64View::with_range(&buf, 24, 0).is_err());
}

#[test]
fn ranges_whose_end_overflows_are_errors_not_panics() {
    let buf = SharedBuffer::new(16);
    assert!(matches!(
        BigUint64View::with_range(&buf, 8, usize::MAX / 4),
        Err(ViewError::OutOfBounds { .. })
    ));
    let last_aligned = usize::MAX & !3; // aligned, but offset + 8 overflows
    assert!(matches!(
        Int32View::with_range(&buf, last_aligned, 2),
        Err(ViewError::OutOfBounds { .. })
    ));
}

#[test]
fn zero_length_views_are_fine_anywhere_up_to_the_end() {
    let buf = SharedBuffer::new(16);
    let at_start = Int32View::with_range(&buf, 0, 0).unwrap();
    assert!(at_start.is_empty());
    assert_eq!(at_start.to_vec(), Vec::<i32>::new());
    let at_end = Int32View::with_range(&buf, 16, 0).unwrap();
    assert!(at_end.is_empty() && at_end.iter().next().is_none());
    at_end.copy_from_slice(&[]);
    assert!(Int32View::with_range(&buf, 20, 0).is_err());

    let nothing = SharedBuffer::new(0);
    assert_eq!(nothing.byte_len(), 0);
    assert!(Float64View::new(&nothing).unwrap().is_empty());
    assert!(Uint8View::new(&nothing).unwrap().is_empty());
    assert!(BigInt64View::with_range(&nothing, 0, 0).is_ok());
    assert!(Uint8View::with_range(&nothing, 0, 1).is_err());
}

#[test]
fn view_accessors_describe_the_range() {
    let buf = SharedBuffer::new(32);
    let view = Uint16View::with_range(&buf, 6, 5).unwrap();
    assert_eq!(view.len(), 5);
    assert_eq!(view.byte_offset(), 6);
    assert_eq!(view.byte_len(), 10);
    assert!(view.buffer().ptr_eq(&buf));
    assert_eq!(Uint16View::BYTES_PER_ELEMENT, 2);
    assert_eq!(Float32View::BYTES_PER_ELEMENT, 4);
    assert_eq!(BigInt64View::BYTES_PER_ELEMENT, 8);
}

#[test]
fn view_errors_display_the_numbers() {
    let buf = SharedBuffer::new(16);
    assert_eq!(
        Int32View::with_range(&buf, 2, 1).unwrap_err().to_string(),
        "byte offset 2 is not a multiple of the element size 4"
    );
    assert_eq!(
        Int32View::with_range(&buf, 8, 3).unwrap_err().to_string(),
        "3 elements of 4 bytes from byte offset 8 do not fit in a buffer of 16 bytes"
    );
    assert_eq!(
        BigInt64View::new(&SharedBuffer::new(12))
            .unwrap_err()
            .to_string(),
        "buffer length 12 is not a multiple of the element size 8"
    );
    let boxed: Box<dyn Error + Send + Sync> =
        Box::new(Int8View::with_range(&buf, 0, 17).unwrap_err());
    assert!(boxed.source().is_none());
}

fn int32s(len: usize) -> Int32View {
    Int32View::new(&SharedBuffer::new(4 * len)).unwrap()
}

#[test]
#[should_panic(expected = "index 10 out of range for Int32View of length 4")]
fn load_past_the_end_panics_naming_index_and_length() {
    int32s(4).load(10);
}

#[test]
#[should_panic(expected = "index 4 out of range for Int32View of length 4")]
fn store_past_the_end_panics() {
    int32s(4).store(4, 1);
}

#[test]
#[should_panic(expected = "index 3 out of range for Uint8View of length 3")]
fn rmw_past_the_end_panics() {
    Uint8View::with_range(&SharedBuffer::new(8), 5, 3)
        .unwrap()
        .add(3, 1);
}

#[test]
#[should_panic(expected = "index 1 out of range for BigInt64View of length 1")]
fn compare_exchange_past_the_end_panics() {
    BigInt64View::with_range(&SharedBuffer::new(16), 8, 1)
        .unwrap()
        .compare_exchange(1, 0, 1);
}

#[test]
#[should_panic(expected = "index 0 out of range for Float64View of length 0")]
fn float_add_on_an_empty_view_panics() {
    Float64View::new(&SharedBuffer::new(0)).unwrap().add(0, 1.0);
}

#[test]
#[should_panic(expected = "index 2 out of range for Int16View of length 2")]
fn wait_past_the_end_panics() {
    Int16View::new(&SharedBuffer::new(4))
        .unwrap()
        .wait(2, 0, None);
}

#[test]
#[should_panic(expected = "index 8 out of range for Uint32View of length 2")]
fn notify_past_the_end_panics() {
    Uint32View::new(&SharedBuffer::new(8)).unwrap().notify(8, 1);
}

#[test]
#[should_panic(expected = "source slice length (3) does not match Float32View length (4)")]
fn copy_from_slice_of_another_length_panics() {
    Float32View::new(&SharedBuffer::new(16))
        .unwrap()
        .copy_from_slice(&[1.0, 2.0, 3.0]);
}
