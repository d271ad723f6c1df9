// Package archtest checks that imports between the project's packages
// follow the one-way data flow of the architecture: api and bridge above
// workflows, workflows above activities, activities above db, storage and
// media, which import nothing of the project.
package archtest
