package exec

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// TakeRecord returns the rows sel (in any order, repeats allowed) of rec
// as a new record of rec's schema. Dictionary columns keep their
// dictionary and index type.
func TakeRecord(alloc memory.Allocator, rec arrow.Record, sel []int32) arrow.Record {
	cols := make([]arrow.Array, rec.NumCols())
	for i, a := range rec.Columns() {
		cols[i] = takeArray(alloc, a, sel)
	}
	out := array.NewRecordBatch(rec.Schema(), cols, int64(len(sel)))
	for _, c := range cols {
		c.Release()
	}
	return out
}

// takeArray returns the rows sel of a, an array of a type the operators
// take (see classify).
func takeArray(alloc memory.Allocator, a arrow.Array, sel []int32) arrow.Array {
	var valid *memory.Buffer
	nulls := 0
	if a.NullN() > 0 {
		valid = memory.NewResizableBuffer(alloc)
		valid.Resize(int(bitutil.BytesForBits(int64(len(sel)))))
		bits := valid.Bytes()
		clear(bits)
		for i, j := range sel {
			if a.IsValid(int(j)) {
				bitutil.SetBit(bits, i)
			} else {
				nulls++
			}
		}
	}
	if valid != nil {
		defer valid.Release()
	}
	switch a := a.(type) {
	case *array.Dictionary:
		idx := takeArray(alloc, a.Indices(), sel)
		defer idx.Release()
		return array.NewDictionaryArray(a.DataType(), idx, a.Dictionary())
	case *array.Boolean:
		b := array.NewBooleanBuilder(alloc)
		defer b.Release()
		b.Reserve(len(sel))
		for _, j := range sel {
			if a.IsNull(int(j)) {
				b.UnsafeAppendBoolToBitmap(false)
			} else {
				b.UnsafeAppend(a.Value(int(j)))
			}
		}
		return b.NewArray()
	case *array.String:
		return takeBytes(alloc, a.Data(), a.ValueOffsets(), valid, nulls, sel)
	case *array.Binary:
		return takeBytes(alloc, a.Data(), a.ValueOffsets(), valid, nulls, sel)
	}
	fw, ok := a.DataType().(arrow.FixedWidthDataType)
	if !ok || fw.BitWidth()%8 != 0 {
		panic(fmt.Sprintf("exec: taking rows of %s", a.DataType()))
	}
	w := fw.BitWidth() / 8
	src := a.Data().Buffers()[1].Bytes()[a.Data().Offset()*w:]
	vals := memory.NewResizableBuffer(alloc)
	defer vals.Release()
	vals.Resize(len(sel) * w)
	dst := vals.Bytes()
	for i, j := range sel {
		copy(dst[i*w:(i+1)*w], src[int(j)*w:(int(j)+1)*w])
	}
	data := array.NewData(a.DataType(), len(sel), []*memory.Buffer{valid, vals}, nil, nulls, 0)
	defer data.Release()
	return array.MakeFromData(data)
}

// takeBytes takes rows of a String or Binary array given its offsets.
func takeBytes(alloc memory.Allocator, d arrow.ArrayData, offs []int32, valid *memory.Buffer, nulls int, sel []int32) arrow.Array {
	var raw []byte
	if buf := d.Buffers()[2]; buf != nil {
		raw = buf.Bytes()
	}
	size := 0
	for _, j := range sel {
		size += int(offs[j+1] - offs[j])
	}
	offBuf := memory.NewResizableBuffer(alloc)
	defer offBuf.Release()
	offBuf.Resize((len(sel) + 1) * arrow.Int32SizeBytes)
	newOffs := arrow.Int32Traits.CastFromBytes(offBuf.Bytes())
	dataBuf := memory.NewResizableBuffer(alloc)
	defer dataBuf.Release()
	dataBuf.Resize(size)
	out := dataBuf.Bytes()
	pos := int32(0)
	for i, j := range sel {
		newOffs[i] = pos
		pos += int32(copy(out[pos:], raw[offs[j]:offs[j+1]]))
	}
	newOffs[len(sel)] = pos
	data := array.NewData(d.DataType(), len(sel), []*memory.Buffer{valid, offBuf, dataBuf}, nil, nulls, 0)
	defer data.Release()
	return array.MakeFromData(data)
}
