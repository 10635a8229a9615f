module github.com/ottavo/wasm-sdk

go 1.24
