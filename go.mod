module github.com/custos-cim/custos

go 1.26
