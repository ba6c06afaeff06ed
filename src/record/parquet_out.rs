//! Small Parquet tables written with the `parquet` crate's low-level column writer (no Arrow:
//! far less to build): flat columns of numbers and strings, lists of numbers or strings, and
//! the `{bytes, path}` struct Hugging Face datasets use for images. One row group per file.
//!
//! Every column and list element is nullable (`OPTIONAL`), as pyarrow writes the tables of
//! Hugging Face `datasets` (and so LeRobot); no value written is ever null.

use std::path::Path;
use std::sync::Arc;

use parquet::basic::{LogicalType, Repetition, Type as PhysicalType};
use parquet::data_type::{ByteArray, ByteArrayType, DoubleType, FloatType, Int64Type};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::file::writer::{SerializedFileWriter, SerializedRowGroupWriter};
use parquet::schema::types::{Type, TypePtr};

use super::Error;

/// One column's values, one entry per row.
pub enum Column {
    I64(Vec<i64>),
    F32(Vec<f32>),
    F64(Vec<f64>),
    Str(Vec<String>),
    F32List(Vec<Vec<f32>>),
    F64List(Vec<Vec<f64>>),
    /// Per-channel image statistics as LeRobot stores them: each row's values as a `[n][1][1]`
    /// nested list.
    F64Channels(Vec<Vec<f64>>),
    I64List(Vec<Vec<i64>>),
    StrList(Vec<Vec<String>>),
    /// An image as Hugging Face datasets store one: encoded bytes and a name.
    Image(Vec<(Vec<u8>, String)>),
}

impl Column {
    fn rows(&self) -> usize {
        match self {
            Column::I64(v) => v.len(),
            Column::F32(v) => v.len(),
            Column::F64(v) => v.len(),
            Column::Str(v) => v.len(),
            Column::F32List(v) => v.len(),
            Column::F64List(v) => v.len(),
            Column::F64Channels(v) => v.len(),
            Column::I64List(v) => v.len(),
            Column::StrList(v) => v.len(),
            Column::Image(v) => v.len(),
        }
    }
}

fn leaf(
    name: &str,
    physical: PhysicalType,
    string: bool,
) -> Result<Type, parquet::errors::ParquetError> {
    Type::primitive_type_builder(name, physical)
        .with_repetition(Repetition::OPTIONAL)
        .with_logical_type(string.then_some(LogicalType::String))
        .build()
}

/// `OPTIONAL group name (LIST) { REPEATED group list { OPTIONAL <element> } }`.
fn list(name: &str, element: Type) -> Result<Type, parquet::errors::ParquetError> {
    let repeated = Type::group_type_builder("list")
        .with_repetition(Repetition::REPEATED)
        .with_fields(vec![Arc::new(element)])
        .build()?;
    Type::group_type_builder(name)
        .with_repetition(Repetition::OPTIONAL)
        .with_logical_type(Some(LogicalType::List))
        .with_fields(vec![Arc::new(repeated)])
        .build()
}

fn field(name: &str, column: &Column) -> Result<Type, parquet::errors::ParquetError> {
    use PhysicalType::*;
    match column {
        Column::I64(_) => leaf(name, INT64, false),
        Column::F32(_) => leaf(name, FLOAT, false),
        Column::F64(_) => leaf(name, DOUBLE, false),
        Column::Str(_) => leaf(name, BYTE_ARRAY, true),
        Column::F32List(_) => list(name, leaf("element", FLOAT, false)?),
        Column::F64List(_) => list(name, leaf("element", DOUBLE, false)?),
        Column::F64Channels(_) => list(
            name,
            list("element", list("element", leaf("element", DOUBLE, false)?)?)?,
        ),
        Column::I64List(_) => list(name, leaf("element", INT64, false)?),
        Column::StrList(_) => list(name, leaf("element", BYTE_ARRAY, true)?),
        Column::Image(_) => Type::group_type_builder(name)
            .with_repetition(Repetition::OPTIONAL)
            .with_fields(vec![
                Arc::new(leaf("bytes", BYTE_ARRAY, false)?),
                Arc::new(leaf("path", BYTE_ARRAY, true)?),
            ])
            .build(),
    }
}

/// Definition and repetition levels of a nullable list column with nullable elements, no
/// value null: an empty list is defined to the list (1), a value fully (`depth * 2 + 1` for
/// `depth` nested lists whose inner lists hold one value each); a row's first value starts the
/// row (repetition 0), the others a new element of the outer list (1).
fn levels<T>(rows: &[Vec<T>], depth: i16) -> Levels {
    let mut def = Vec::new();
    let mut rep = Vec::new();
    for row in rows {
        if row.is_empty() {
            def.push(1);
            rep.push(0);
        }
        for i in 0..row.len() {
            def.push(depth * 2 + 1);
            rep.push(i16::from(i > 0));
        }
    }
    (def, rep)
}

/// Definition levels of a flat nullable column (or a struct's nullable field, `level` 2) with
/// every value present.
fn present(rows: usize, level: i16) -> Levels {
    (vec![level; rows], Vec::new())
}

/// Writes `columns` (same row count each) to `path`, with `key_value` file metadata.
pub fn write<N: AsRef<str>>(
    path: &Path,
    columns: &[(N, Column)],
    key_value: Vec<(String, String)>,
) -> Result<(), Error> {
    let err = |error| Error::Parquet {
        path: path.to_path_buf(),
        error,
    };
    let rows = columns.first().map_or(0, |(_, c)| c.rows());
    if let Some((name, _)) = columns.iter().find(|(_, c)| c.rows() != rows) {
        return Err(Error::Invalid {
            path: path.to_path_buf(),
            message: format!("column {} has a different number of rows", name.as_ref()),
        });
    }
    let fields: Vec<TypePtr> = columns
        .iter()
        .map(|(name, c)| field(name.as_ref(), c).map(Arc::new))
        .collect::<Result<_, _>>()
        .map_err(err)?;
    let schema = Arc::new(
        Type::group_type_builder("schema")
            .with_fields(fields)
            .build()
            .map_err(err)?,
    );
    let key_value = key_value
        .into_iter()
        .map(|(k, v)| KeyValue::new(k, v))
        .collect();
    let props = Arc::new(
        WriterProperties::builder()
            // Statistics per column chunk and no page index, as pyarrow writes by default.
            .set_statistics_enabled(EnabledStatistics::Chunk)
            .set_key_value_metadata(Some(key_value))
            .build(),
    );
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(Error::io(parent))?;
    }
    let file = std::fs::File::create(path).map_err(Error::io(path))?;
    let mut writer = SerializedFileWriter::new(file, schema, props).map_err(err)?;
    let mut group = writer.next_row_group().map_err(err)?;
    for (_, column) in columns {
        let g = &mut group;
        match column {
            Column::I64(v) => write_leaf::<Int64Type>(g, v, present(v.len(), 1)),
            Column::F32(v) => write_leaf::<FloatType>(g, v, present(v.len(), 1)),
            Column::F64(v) => write_leaf::<DoubleType>(g, v, present(v.len(), 1)),
            Column::Str(v) => {
                let values: Vec<ByteArray> = v.iter().map(|s| s.as_str().into()).collect();
                write_leaf::<ByteArrayType>(g, &values, present(v.len(), 1))
            }
            Column::F32List(v) => write_leaf::<FloatType>(g, &v.concat(), levels(v, 1)),
            Column::F64List(v) => write_leaf::<DoubleType>(g, &v.concat(), levels(v, 1)),
            Column::F64Channels(v) => write_leaf::<DoubleType>(g, &v.concat(), levels(v, 3)),
            Column::I64List(v) => write_leaf::<Int64Type>(g, &v.concat(), levels(v, 1)),
            Column::StrList(v) => {
                let values: Vec<ByteArray> =
                    v.iter().flatten().map(|s| s.as_str().into()).collect();
                write_leaf::<ByteArrayType>(g, &values, levels(v, 1))
            }
            // An image is two leaf columns.
            Column::Image(v) => {
                let data: Vec<ByteArray> = v.iter().map(|(b, _)| b.clone().into()).collect();
                let paths: Vec<ByteArray> = v.iter().map(|(_, p)| p.as_str().into()).collect();
                write_leaf::<ByteArrayType>(g, &data, present(v.len(), 2))
                    .and_then(|()| write_leaf::<ByteArrayType>(g, &paths, present(v.len(), 2)))
            }
        }
        .map_err(err)?;
    }
    group.close().map_err(err)?;
    writer.close().map_err(err)?;
    Ok(())
}

/// Definition and repetition levels (no repetition levels: a flat column).
type Levels = (Vec<i16>, Vec<i16>);

/// Writes the row group's next leaf column.
fn write_leaf<T: parquet::data_type::DataType>(
    group: &mut SerializedRowGroupWriter<'_, std::fs::File>,
    values: &[T::T],
    (def, rep): Levels,
) -> parquet::errors::Result<()> {
    if let Some(mut col) = group.next_column()? {
        let rep = (!rep.is_empty()).then_some(rep.as_slice());
        col.typed::<T>().write_batch(values, Some(&def), rep)?;
        col.close()?;
    }
    Ok(())
}

/// The `huggingface` schema metadata Hugging Face `datasets` writes beside a table (and reads
/// its features back from): `{"info": {"features": …}}` in `datasets` 4's spelling (`Value`,
/// `List`, `Image`). `length(name)`: the fixed length of a list column, if it has one.
pub fn huggingface_metadata<N: AsRef<str>>(
    columns: &[(N, Column)],
    length: impl Fn(&str) -> Option<usize>,
) -> (String, String) {
    use serde_json::{Map, Value, json};
    let value = |dtype: &str| json!({"dtype": dtype, "_type": "Value"});
    let list = |feature: Value, length: Option<usize>| {
        let mut m = Map::new();
        m.insert("feature".into(), feature);
        if let Some(n) = length {
            m.insert("length".into(), json!(n));
        }
        m.insert("_type".into(), json!("List"));
        Value::Object(m)
    };
    let mut features = Map::new();
    for (name, column) in columns {
        let name = name.as_ref();
        let fixed = length(name);
        let feature = match column {
            Column::I64(_) => value("int64"),
            Column::F32(_) => value("float32"),
            Column::F64(_) => value("float64"),
            Column::Str(_) => value("string"),
            Column::F32List(_) => list(value("float32"), fixed),
            Column::F64List(_) => list(value("float64"), fixed),
            Column::F64Channels(_) => list(list(list(value("float64"), None), None), None),
            Column::I64List(_) => list(value("int64"), fixed),
            Column::StrList(_) => list(value("string"), fixed),
            Column::Image(_) => json!({"_type": "Image"}),
        };
        features.insert(name.to_string(), feature);
    }
    (
        "huggingface".to_string(),
        json!({"info": {"features": features}}).to_string(),
    )
}
