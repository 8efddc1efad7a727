//! Stream metadata: the `onMetaData` script tag (built for viewers, parsed from publishers) and
//! the [`StreamFacts`] gathered from it and from the sequence headers.

mod facts;
mod script;

pub use facts::StreamFacts;
pub use script::{encode_on_metadata, parse_on_metadata, strip_set_data_frame};
