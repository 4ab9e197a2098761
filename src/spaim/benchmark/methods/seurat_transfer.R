# Seurat anchor-based imputation, as Codes/Impute/Seurat.r of Li et al. (2022) calls it.
# Usage: Rscript seurat_transfer.R DIR
#   DIR holds sc.mtx (genes x cells counts), sc_genes.txt, st.mtx (training genes x ST cells),
#   train_genes.txt, test_genes.txt, seed.txt, normalize.txt (TRUE or FALSE); the script writes
#   DIR/imputed.csv (ST cells x test genes).
suppressPackageStartupMessages({
  library(Matrix)
  library(Seurat)
})
dir <- commandArgs(trailingOnly = TRUE)[1]
lines <- function(name) readLines(file.path(dir, name))
matrix_of <- function(name, genes) {
  m <- as(readMM(file.path(dir, name)), "CsparseMatrix")
  dimnames(m) <- list(genes, paste0("cell", seq_len(ncol(m))))
  m
}
features <- lines("train_genes.txt")
test_genes <- lines("test_genes.txt")
set.seed(as.integer(lines("seed.txt")))

rna <- CreateSeuratObject(counts = matrix_of("sc.mtx", lines("sc_genes.txt")), project = "RNA", min.cells = 0, min.features = 0)
spatial <- CreateSeuratObject(counts = matrix_of("st.mtx", features), project = "Spatial", min.cells = 0, min.features = 0)
# Seurat's documented route normalises both objects (LogNormalize, scale factor 1e4) first;
# Li et al.'s Seurat.r does not, so their anchors and transferred values use the counts.
if (lines("normalize.txt") == "TRUE") {
  rna <- NormalizeData(rna, verbose = FALSE)
  spatial <- NormalizeData(spatial, verbose = FALSE)
}

dims <- seq_len(min(30, length(features) - 1))
anchors <- FindTransferAnchors(
  reference = rna, query = spatial, features = features, reduction = "cca",
  reference.assay = "RNA", query.assay = "RNA", k.filter = NA, dims = dims, verbose = FALSE
)
refdata <- GetAssayData(rna, assay = "RNA", slot = "data")[test_genes, , drop = FALSE]
# Seurat 4 needs the query object to compute the query's own PCA for weight.reduction = "pca";
# the imputed values then come back as the query's new assay "imputed".
spatial <- TransferData(
  anchorset = anchors, refdata = list(imputed = refdata), query = spatial, weight.reduction = "pca", dims = dims, verbose = FALSE
)
imputed <- as.matrix(GetAssayData(spatial, assay = "imputed", slot = "data"))[test_genes, , drop = FALSE]
write.csv(t(imputed), file.path(dir, "imputed.csv"), row.names = FALSE)
